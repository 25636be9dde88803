import Foundation
import WGModel

/// `GET /`: server-rendered HTML, no JavaScript, one card per site, worst first; readable on a phone.
enum WGDashboard {
    static func render(views: [WGSiteView], hub: WGHubService, now: Date) async throws -> String {
        let counts = Dictionary(grouping: views, by: \.status).mapValues(\.count)
        var h = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="30">
            <title>wghub — \(views.count) sites</title>
            <style>
            body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:12px;background:#f4f5f7;color:#1d2330}
            h1{font-size:1.3em;margin:0 0 4px}
            .sum{margin:0 0 12px;color:#555}
            .site{background:#fff;border-radius:8px;padding:10px 12px;margin:0 0 10px;border-left:6px solid #999;box-shadow:0 1px 2px #0002}
            .site.offline{border-color:#c62828}.site.stale{border-color:#ef8f00}.site.online{border-color:#2e7d32}
            .site h2{font-size:1.1em;margin:0 0 6px;display:flex;justify-content:space-between;gap:8px;flex-wrap:wrap}
            .badge{font-size:.8em;padding:2px 8px;border-radius:10px;color:#fff;background:#999;text-transform:uppercase}
            .offline .badge{background:#c62828}.stale .badge{background:#ef8f00}.online .badge{background:#2e7d32}
            dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
            dt{color:#666}dd{margin:0;word-break:break-all}
            .bad{color:#c62828;font-weight:600}.good{color:#2e7d32}
            ul.checks{margin:4px 0 0;padding-left:18px;color:#c62828}
            ul.lan{margin:0;padding-left:18px}
            footer{color:#777;font-size:.85em;margin-top:16px}
            </style></head><body>
            <h1>wghub</h1>
            <p class="sum">\(views.count) site\(views.count == 1 ? "" : "s"): \(counts[.offline] ?? 0) offline, \(counts[.stale] ?? 0) stale, \(counts[.online] ?? 0) online
             · pool \(esc(hub.config.pool.description)) · endpoint \(esc(hub.config.endpoint))
             · agent \(esc(hub.agent.info?.summary ?? "none served (start serve with --agent-binary FILE)"))</p>

            """
        if views.isEmpty {
            h += "<p>No site has enrolled yet. Create a token with <code>wghub token create</code>.</p>\n"
        }
        for v in views {
            h += "<section class=\"site \(v.status.rawValue)\">\n"
            h += "<h2><span>\(esc(v.hostname)) <small>#\(v.id)</small></span><span class=\"badge\">\(v.status.rawValue)</span></h2>\n<dl>\n"
            h += row("Address", v.address)
            if !v.lan.isEmpty {
                // Each announced LAN with what the hub does with it: routed, pending a grant, refused and why.
                h += "<dt>LAN</dt><dd><ul class=\"lan\">"
                for l in v.lan {
                    let cls = l.state == .routed ? "good" : l.state == .refused ? "bad" : ""
                    h += "<li class=\"\(cls)\">\(esc(l.prefix)) — \(l.state.rawValue)\(l.reason.map { ": " + esc($0) } ?? "")</li>"
                }
                h += "</ul></dd>\n"
            }
            h += row("Endpoint", v.endpoint ?? v.observedAddress.map { "\($0) (seen over HTTPS)" } ?? "—")
            h += row("Handshake", ago(v.latestHandshake.flatMap { $0 > 0 ? Date(timeIntervalSince1970: Double($0)) : nil }, now: now))
            h += row("Traffic", v.receiveBytes.map { "↓ \(bytes($0)) ↑ \(bytes(v.transmitBytes ?? 0))" } ?? "—")
            h += row("Last report", ago(v.lastReportAt, now: now) + (v.lastSeq.map { " (#\($0))" } ?? ""))
            let verdict = v.probeDetail ?? v.probeVerdict.map {
                $0 == "open" ? "forwarded" : $0 == "closed" ? "closed: the probe did not arrive" : "\($0): a different nonce arrived" } ?? "not checked"
            h += "<dt>Port forward</dt><dd class=\"\(v.probeVerdict == "open" ? "good" : v.probeVerdict == nil ? "" : "bad")\">\(esc(verdict))\(v.probeAt.map { " · " + ago($0, now: now) } ?? "")</dd>\n"
            if v.failingChecks.isEmpty {
                h += v.lastReportAt == nil ? "<dt>Checks</dt><dd>no report yet</dd>\n" : "<dt>Checks</dt><dd class=\"good\">all passing</dd>\n"
            } else {
                h += "<dt>Checks</dt><dd class=\"bad\">\(v.failingChecks.count) failing<ul class=\"checks\">"
                for c in v.failingChecks { h += "<li>\(esc(c))</li>" }
                h += "</ul></dd>\n"
            }
            h += "</dl></section>\n"
        }
        h += "<footer>Rendered \(ISO8601DateFormatter().string(from: now)) · refreshes every 30 s · <a href=\"/metrics\">metrics</a></footer>\n</body></html>\n"
        return h
    }

    static func row(_ k: String, _ v: String) -> String { "<dt>\(esc(k))</dt><dd>\(esc(v))</dd>\n" }

    static func esc(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.append(c)
            }
        }
        return o
    }

    static func ago(_ d: Date?, now: Date) -> String {
        guard let d else { return "never" }
        let s = Int(now.timeIntervalSince(d))
        if s < 0 { return "just now" }
        if s < 90 { return "\(s) s ago" }
        if s < 5400 { return "\(s / 60) min ago" }
        if s < 172800 { return "\(s / 3600) h ago" }
        return "\(s / 86400) days ago"
    }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }
}

/// `GET /metrics`: Prometheus text format.
enum WGMetricsPage {
    static func render(hub: WGHubService) async -> String {
        var out = ""
        let views = (try? await hub.views()) ?? []
        func labels(_ v: WGSiteView) -> String {
            "site=\"\(WGHubMetrics.escape(v.hostname))\",site_id=\"\(v.id)\",public_key=\"\(v.publicKey)\",address=\"\(v.address)\""
        }
        out += "# HELP wireguard_peer_last_handshake_seconds Unix time of the peer's latest handshake with the hub interface (0 = never).\n"
        out += "# TYPE wireguard_peer_last_handshake_seconds gauge\n"
        for v in views where v.latestHandshake != nil { out += "wireguard_peer_last_handshake_seconds{\(labels(v))} \(v.latestHandshake!)\n" }
        out += "# HELP wireguard_peer_receive_bytes_total Bytes the hub interface received from the peer.\n"
        out += "# TYPE wireguard_peer_receive_bytes_total counter\n"
        for v in views where v.receiveBytes != nil { out += "wireguard_peer_receive_bytes_total{\(labels(v))} \(v.receiveBytes!)\n" }
        out += "# HELP wireguard_peer_transmit_bytes_total Bytes the hub interface sent to the peer.\n"
        out += "# TYPE wireguard_peer_transmit_bytes_total counter\n"
        for v in views where v.transmitBytes != nil { out += "wireguard_peer_transmit_bytes_total{\(labels(v))} \(v.transmitBytes!)\n" }
        out += "# HELP wghub_site_up 1 when the site is online, 0 otherwise.\n# TYPE wghub_site_up gauge\n"
        for v in views { out += "wghub_site_up{\(labels(v)),status=\"\(v.status.rawValue)\"} \(v.status == .online ? 1 : 0)\n" }
        out += "# HELP wghub_site_last_report_seconds Unix time of the site's last stored health report (0 = never).\n"
        out += "# TYPE wghub_site_last_report_seconds gauge\n"
        for v in views { out += "wghub_site_last_report_seconds{\(labels(v))} \(Int64(v.lastReportAt?.timeIntervalSince1970 ?? 0))\n" }
        out += "# HELP wghub_site_failing_checks Failing checks in the site's last report.\n# TYPE wghub_site_failing_checks gauge\n"
        for v in views { out += "wghub_site_failing_checks{\(labels(v))} \(v.failingChecks.count)\n" }
        out += "# HELP wghub_site_machine_conflict 1 when a second machine has reported with the site's credential.\n"
        out += "# TYPE wghub_site_machine_conflict gauge\n"
        for v in views { out += "wghub_site_machine_conflict{\(labels(v))} \(v.machineConflictAt == nil ? 0 : 1)\n" }
        out += "# HELP wghub_sites Enrolled sites by status.\n# TYPE wghub_sites gauge\n"
        for s in [WGSiteStatus.online, .stale, .offline] {
            out += "wghub_sites{status=\"\(s.rawValue)\"} \(views.filter { $0.status == s }.count)\n"
        }
        out += "# HELP wghub_site_lan_prefixes Announced LAN prefixes by what the hub does with them.\n# TYPE wghub_site_lan_prefixes gauge\n"
        for st in [WGLANRoute.State.routed, .pending, .refused] {
            out += "wghub_site_lan_prefixes{state=\"\(st.rawValue)\"} \(views.reduce(0) { $0 + $1.lan.filter { $0.state == st }.count })\n"
        }
        out += "# HELP wghub_open_connections Connections open now.\n# TYPE wghub_open_connections gauge\n"
        out += "wghub_open_connections \(hub.admission.open)\n"
        if let (pending, open) = try? await hub.store.alertGauges() {
            out += "# HELP wghub_alert_outbox_pending Alert notifications waiting for delivery (retried until acknowledged).\n"
            out += "# TYPE wghub_alert_outbox_pending gauge\nwghub_alert_outbox_pending \(pending)\n"
            out += "# HELP wghub_incidents_open Incidents open now (notified, not resolved).\n"
            out += "# TYPE wghub_incidents_open gauge\nwghub_incidents_open \(open)\n"
        }
        hub.metrics.render(into: &out)
        return out
    }
}
