import Foundation
import WGModel

/// `GET /`: server-rendered HTML, no JavaScript: a compact table, one row per site, worst first, for hundreds of
/// sites; filtered by status and name with plain GET parameters (`/?status=offline&q=branch`). Each name links to
/// the site's page (`/sites/{id}`, WGSitePage). On a narrow screen each row stacks into a card (CSS only).
enum WGDashboard {
    /// The filter of `GET /`: a status (online, stale, offline; anything else is all) and a name substring
    /// (hostname, address or id; case-insensitive; at most 64 characters).
    struct Filter: Sendable, Equatable {
        var status: WGSiteStatus?
        var query: String

        init(status: String?, query: String?) {
            self.status = status.flatMap(WGSiteStatus.init(rawValue:))
            self.query = String((query ?? "").trimmingCharacters(in: .whitespaces).prefix(64))
        }

        func matches(_ v: WGSiteView) -> Bool {
            if let status, v.status != status { return false }
            if query.isEmpty { return true }
            let q = query.lowercased()
            return v.hostname.lowercased().contains(q) || v.address.contains(q) || "#\(v.id)" == q || "\(v.id)" == q
        }
    }

    static let baseStyle = """
        body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:12px;background:#f4f5f7;color:#1d2330}
        h1{font-size:1.3em;margin:0 0 4px}h2{font-size:1.1em}
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
        """

    /// `csrf`: the signed-in session's (the page then shows the management links); `notice`: what a form just did.
    static func render(
        views all: [WGSiteView], hub: WGHubService, now: Date, filter: Filter = .init(status: nil, query: nil),
        csrf: String? = nil, notice: String? = nil
    ) async throws -> String {
        // Open incidents (in grace or notified), at most a few per site shown.
        let incidents = Dictionary(grouping: try await hub.store.incidents(all: false, limit: 5000), by: \.siteID)
        return page(all, hub: hub, incidents: incidents, now: now, filter: filter, csrf: csrf, notice: notice)
    }

    static func page(
        _ all: [WGSiteView], hub: WGHubService, incidents: [Int64: [WGIncident]], now: Date, filter: Filter,
        csrf: String?, notice: String?
    ) -> String {
        let counts = Dictionary(grouping: all, by: \.status).mapValues(\.count)
        let views = all.filter(filter.matches)
        var h = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="30">
            <title>wghub — \(all.count) sites</title>
            <style>
            \(baseStyle)
            form{margin:0 0 10px;display:flex;gap:6px;flex-wrap:wrap}
            table.sites{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
            table.sites th,table.sites td{padding:4px 6px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
            table.sites th{background:#e8eaef;font-weight:600}
            tr.offline td:first-child{border-left:5px solid #c62828}tr.stale td:first-child{border-left:5px solid #ef8f00}
            tr.online td:first-child{border-left:5px solid #2e7d32}
            .k{display:none;color:#666}
            \(WGAdminPages.style)
            @media (max-width:760px){table.sites thead{display:none}table.sites tr{display:block;border-bottom:2px solid #ccc}
            table.sites td{display:block;border:0}.k{display:inline}}
            </style></head><body>
            \(WGAdminPages.nav(csrf: csrf))<h1>wghub</h1>
            \(WGAdminPages.message(notice, good: true))<p class="sum">\(all.count) site\(all.count == 1 ? "" : "s"): \(counts[.offline] ?? 0) offline, \(counts[.stale] ?? 0) stale, \(counts[.online] ?? 0) online
             · pool \(esc(hub.config.pool.description)) · endpoint \(esc(hub.config.endpoint))
             · agent \(esc(hub.agent.info?.summary ?? "none served (start serve with --agent-binary FILE)"))</p>

            """
        if all.isEmpty {
            h += "<p>No site has enrolled yet. Create a token with <code>wghub token create</code>.</p>\n"
        } else {
            h += "<form method=\"get\" action=\"/\"><select name=\"status\" aria-label=\"status\">"
            for (value, label) in [("", "all"), ("offline", "offline"), ("stale", "stale"), ("online", "online")] {
                h += "<option value=\"\(value)\"\((filter.status?.rawValue ?? "") == value ? " selected" : "")>\(label)</option>"
            }
            h += "</select><input type=\"search\" name=\"q\" value=\"\(esc(filter.query))\" placeholder=\"name, address or #id\" aria-label=\"name\">"
            h += "<button type=\"submit\">Filter</button>"
            if filter != .init(status: nil, query: nil) {
                h += " <span class=\"sum\">showing \(views.count) of \(all.count) · <a href=\"/\">all</a></span>"
            }
            h += "</form>\n"
            h += "<table class=\"sites\"><thead><tr><th>Status</th><th>Site</th><th>Address</th><th>Endpoint</th><th>Handshake</th>"
            h += "<th>Traffic</th><th>Last report</th><th>Port forward</th><th>Checks</th><th>Incident</th></tr></thead><tbody>\n"
            for v in views { h += row(v, incidents: incidents[v.id] ?? [], now: now) }
            h += "</tbody></table>\n"
            if views.isEmpty { h += "<p>No site matches the filter.</p>\n" }
        }
        h += "<footer>Rendered \(ISO8601DateFormatter().string(from: now)) · refreshes every 30 s · <a href=\"/metrics\">metrics</a></footer>\n</body></html>\n"
        return h
    }

    /// One table row; each cell starts with its label, shown only when the row stacks on a narrow screen.
    static func row(_ v: WGSiteView, incidents: [WGIncident] = [], now: Date) -> String {
        func cell(_ k: String, _ html: String, cls: String = "") -> String {
            "<td\(cls.isEmpty ? "" : " class=\"\(cls)\"")><span class=\"k\">\(esc(k))</span> \(html)</td>"
        }
        var h = "<tr class=\"\(v.status.rawValue)\">"
        h += "<td><span class=\"badge\">\(v.status.rawValue)</span></td>"
        h += "<td><a href=\"/sites/\(v.id)\">\(esc(v.hostname))</a> <small>#\(v.id)</small></td>"
        h += cell("Address", esc(v.address) + lanList(v))
        h += cell("Endpoint", esc(endpoint(v)))
        h += cell("Handshake", esc(handshake(v, now: now)))
        h += cell("Traffic", esc(traffic(v)))
        h += cell("Last report", esc(lastReport(v, now: now)))
        h += cell("Port forward", esc(portForward(v, now: now)), cls: portClass(v))
        h += cell("Checks", checks(v), cls: v.failingChecks.isEmpty && v.lastReportAt != nil ? "good" : v.failingChecks.isEmpty ? "" : "bad")
        h += cell("Incident", incidentText(incidents, now: now), cls: incidents.contains { $0.openedAt != nil } ? "bad" : "")
        return h + "</tr>\n"
    }

    /// A site's open incidents: notified ones ("open"), and ones still in their grace period (not notified yet).
    static func incidentText(_ list: [WGIncident], now: Date) -> String {
        if list.isEmpty { return "—" }
        let shown = list.prefix(3).map { i in
            "\(esc(i.kind)) since \(esc(ago(i.startedAt, now: now)))" + (i.openedAt == nil ? " (in grace, not notified)" : " (notified)")
                + (i.flaps > 0 ? ", flapped \(i.flaps)×" : "")
        }
        return shown.joined(separator: "<br>") + (list.count > 3 ? "<br>+\(list.count - 3) more" : "")
    }

    /// The facts of a site as `<dt>`/`<dd>` pairs (the site page).
    static func facts(_ v: WGSiteView, now: Date) -> String {
        var h = row("Address", v.address)
        if !v.lan.isEmpty { h += "<dt>LAN</dt><dd>\(lanList(v))</dd>\n" }
        h += row("Endpoint", endpoint(v))
        h += row("Handshake", handshake(v, now: now))
        h += row("Traffic", traffic(v))
        h += row("Last report", lastReport(v, now: now))
        h += "<dt>Port forward</dt><dd class=\"\(portClass(v))\">\(esc(portForward(v, now: now)))</dd>\n"
        h += "<dt>Checks</dt><dd class=\"\(v.failingChecks.isEmpty ? "good" : "bad")\">\(checks(v))</dd>\n"
        return h
    }

    /// Each announced LAN with what the hub does with it: routed, pending a grant, refused and why.
    static func lanList(_ v: WGSiteView) -> String {
        guard !v.lan.isEmpty else { return "" }
        var h = "<ul class=\"lan\">"
        for l in v.lan {
            let cls = l.state == .routed ? "good" : l.state == .refused ? "bad" : ""
            h += "<li class=\"\(cls)\">\(esc(l.prefix)) — \(l.state.rawValue)\(l.reason.map { ": " + esc($0) } ?? "")</li>"
        }
        return h + "</ul>"
    }

    static func endpoint(_ v: WGSiteView) -> String { v.endpoint ?? v.observedAddress.map { "\($0) (seen over HTTPS)" } ?? "—" }
    static func handshake(_ v: WGSiteView, now: Date) -> String {
        ago(v.latestHandshake.flatMap { $0 > 0 ? Date(timeIntervalSince1970: Double($0)) : nil }, now: now)
    }
    static func traffic(_ v: WGSiteView) -> String { v.receiveBytes.map { "↓ \(bytes($0)) ↑ \(bytes(v.transmitBytes ?? 0))" } ?? "—" }
    static func lastReport(_ v: WGSiteView, now: Date) -> String { ago(v.lastReportAt, now: now) + (v.lastSeq.map { " (#\($0))" } ?? "") }
    static func portForward(_ v: WGSiteView, now: Date) -> String {
        let verdict = v.probeDetail ?? v.probeVerdict.map {
            $0 == "open" ? "forwarded" : $0 == "closed" ? "closed: the probe did not arrive" : "\($0): a different nonce arrived" } ?? "not checked"
        return verdict + (v.probeAt.map { " · " + ago($0, now: now) } ?? "")
    }
    static func portClass(_ v: WGSiteView) -> String { v.probeVerdict == "open" ? "good" : v.probeVerdict == nil ? "" : "bad" }
    static func checks(_ v: WGSiteView) -> String {
        if v.failingChecks.isEmpty { return v.lastReportAt == nil ? "no report yet" : "all passing" }
        return "\(v.failingChecks.count) failing<ul class=\"checks\">" + v.failingChecks.map { "<li>\(esc($0))</li>" }.joined() + "</ul>"
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
        out += "# HELP wireguard_peer_up 1 when the site is online (fresh handshake and report), 0 otherwise.\n"
        out += "# TYPE wireguard_peer_up gauge\n"
        for v in views { out += "wireguard_peer_up{\(labels(v))} \(v.status == .online ? 1 : 0)\n" }
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
        out += "# HELP wghub_agent_downloads_active Agent downloads being sent now (capped by --max-downloads).\n# TYPE wghub_agent_downloads_active gauge\n"
        out += "wghub_agent_downloads_active \(hub.downloads.slots.active)\n"
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
