import Foundation
import WGModel

/// `GET /sites/{id}`: one site, server-rendered, no JavaScript. Its facts (as the dashboard showed them on a card),
/// inline-SVG charts of its history (availability over 24 h / 7 days / 30 days, traffic rate, handshake age) and its
/// incidents. Bounded: at most 168 points per chart, 20 incidents.
enum WGSitePage {
    /// `csrf`: a signed-in admin's session, who gets the management panel (with what a form just did or refused).
    static func render(hub: WGHubService, id: Int64, now: Date, csrf: String? = nil, error: String? = nil, notice: String? = nil) async throws -> String {
        let (site, v) = try await hub.siteView(id: id)  // 404 for an unknown site
        let end = Int64(now.timeIntervalSince1970)
        var ranges: [WGHistoryRange] = []
        for r in WGHistoryRange.standard(now: now) {
            let to = end - end % r.step + r.step
            let from = to - r.span
            let pts = try await hub.store.history(siteID: id, res: r.res, from: from, to: to, step: r.step)
            ranges.append(WGHistoryRange(label: r.label, from: from, to: to, step: r.step, points: pts))
        }
        let incidents = (try? await hub.store.incidents(siteID: id)) ?? []
        var manage = ""
        if let csrf {
            manage = WGAdminPages.manageSite(v, granted: site.lanGranted, csrf: csrf, error: error, notice: notice)
        }
        return page(v, ranges: ranges, incidents: incidents, now: now, nav: WGAdminPages.nav(csrf: csrf), manage: manage,
                    history: hub.config.history, alerts: hub.config.alerts.enabled)
    }

    /// `history` / `alerts` false: the hub runs with --no-history / --no-alerts, said where the charts and incidents are.
    static func page(_ v: WGSiteView, ranges: [WGHistoryRange], incidents: [WGIncident], now: Date, nav: String = "", manage: String = "",
                     history: Bool = true, alerts: Bool = true) -> String {
        let esc = WGDashboard.esc
        var h = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="60">
            <title>\(esc(v.hostname)) — wghub</title>
            <style>
            \(WGDashboard.baseStyle)
            .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:10px}
            .chart{width:100%;height:auto;background:#fff;border-radius:8px;box-shadow:0 1px 2px #0002}
            table.inc{border-collapse:collapse;width:100%;background:#fff}
            table.inc td,table.inc th{padding:4px 6px;border-bottom:1px solid #eee;text-align:left}
            \(WGAdminPages.style)
            </style></head><body>
            \(nav)<p><a href="/">← all sites</a></p>
            <section class="site \(v.status.rawValue)">
            <h2><span>\(esc(v.hostname)) <small>#\(v.id)</small></span><span class="badge">\(v.status.rawValue)</span></h2>
            <dl>
            \(WGDashboard.facts(v, now: now))<dt>OS</dt><dd>\(esc(v.os ?? "—"))</dd>
            <dt>Agent</dt><dd>\(esc(v.agentVersion ?? "—"))</dd>
            <dt>Public key</dt><dd>\(esc(v.publicKey))</dd>
            <dt>Enrolled</dt><dd>\(esc(WGDashboard.ago(v.enrolledAt, now: now)))</dd>
            </dl></section>

            """
        let enrolled = Int64(v.enrolledAt.timeIntervalSince1970)
        h += "<h2>Availability</h2>\n"
        if !history {
            h += "<p class=\"bad\">History is off: this hub runs with <code>--no-history</code> and records no new history; "
                + "the charts show only what was kept from before.</p>\n"
        }
        h += "<p class=\"sum\">"
        h += ranges.map { "\(esc($0.label)): \(availability($0, enrolled: enrolled).map { String(format: "%.1f %%", $0) } ?? "no data")" }
            .joined(separator: " · ")
        h += " <small>(online as the dashboard would have shown it, between reports; no reports: down)</small></p>\n<div class=\"charts\">\n"
        for r in ranges {
            let (times, values) = availabilitySeries(r, enrolled: enrolled)
            h += WGSVGChart(title: "Availability, \(r.label)", times: times, from: r.from, to: r.to,
                            series: [.init(name: "online %", color: "#2e7d32", values: values, area: true)],
                            yMax: 100, yLabel: { "\(Int($0)) %" }).render()
        }
        h += "</div>\n<h2>Traffic and handshake</h2>\n<div class=\"charts\">\n"
        for r in ranges.prefix(2) {
            let (times, rx, tx) = rates(r)
            h += WGSVGChart(title: "Traffic rate, \(r.label) (bytes/s, as the site counts it)", times: times, from: r.from, to: r.to,
                            series: [.init(name: "received", color: "#1565c0", values: rx, area: true),
                                     .init(name: "sent", color: "#ef8f00", values: tx)],
                            yMax: nil, yLabel: { WGSVGChart.short($0) + "B/s" }).render()
        }
        if let r = ranges.first {
            h += WGSVGChart(title: "Handshake age, \(r.label) (s)", times: r.points.map(\.time), from: r.from, to: r.to,
                            series: [.init(name: "mean", color: "#6a1b9a", values: r.points.map(\.handshakeAgeMean)),
                                     .init(name: "max", color: "#c62828", values: r.points.map(\.handshakeAgeMax))],
                            yMax: nil, yLabel: { WGSVGChart.short($0) + " s" }).render()
        }
        h += "</div>\n<h2>Incidents</h2>\n"
        if !alerts {
            h += "<p class=\"bad\">Alerting is off: this hub runs with <code>--no-alerts</code>, so no incident opens or resolves "
                + "and nothing is notified.</p>\n"
        }
        if incidents.isEmpty {
            h += "<p>None recorded.</p>\n"
        } else {
            h += "<table class=\"inc\"><tr><th>State</th><th>Kind</th><th>Detail</th><th>Started</th><th>Resolved</th></tr>\n"
            for i in incidents {
                h += "<tr><td>\(esc(i.state))</td><td>\(esc(i.kind))</td><td>\(esc(i.detail))\(i.flaps > 0 ? " (flapped \(i.flaps)×)" : "")</td>"
                h += "<td>\(esc(WGDashboard.ago(i.startedAt, now: now)))</td><td>\(esc(i.resolvedAt.map { WGDashboard.ago($0, now: now) } ?? "—"))</td></tr>\n"
            }
            h += "</table>\n"
        }
        h += manage
        h += "<footer>Rendered \(ISO8601DateFormatter().string(from: now)) · <a href=\"/\">all sites</a> · <a href=\"/metrics\">metrics</a></footer>\n</body></html>\n"
        return h
    }

    /// One value per step from the later of the range's start and the enrollment: the share of its seconds that
    /// were online (0 where no report arrived).
    static func availabilitySeries(_ r: WGHistoryRange, enrolled: Int64) -> ([Int64], [Double?]) {
        let byTime = Dictionary(r.points.map { ($0.time, $0) }, uniquingKeysWith: { a, _ in a })
        let start = max(r.from, enrolled - enrolled % r.step)
        var times: [Int64] = [], values: [Double?] = []
        var t = start
        while t < r.to {
            times.append(t)
            values.append(min(100, (byTime[t]?.onlineSeconds ?? 0) * 100 / Double(r.step)))
            t += r.step
        }
        return (times, values)
    }

    /// Online seconds over the seconds since the later of the range's start and the enrollment, up to the last
    /// point's end (nil without points).
    static func availability(_ r: WGHistoryRange, enrolled: Int64) -> Double? {
        guard let last = r.points.last else { return nil }
        let start = max(r.from, enrolled)
        let total = max(Double(last.time + r.step - start), 1)
        return min(100, r.points.reduce(0) { $0 + $1.onlineSeconds } * 100 / total)
    }

    /// Bytes per second between consecutive points (the counters at each point's last report); nil after a gap of
    /// more than one step or a counter reset.
    static func rates(_ r: WGHistoryRange) -> ([Int64], [Double?], [Double?]) {
        var times: [Int64] = [], rx: [Double?] = [], tx: [Double?] = []
        for (a, b) in zip(r.points, r.points.dropFirst()) {
            times.append(b.time)
            let dt = Double(b.time - a.time)
            func rate(_ x: Int64?, _ y: Int64?) -> Double? {
                guard let x, let y, y >= x, b.time - a.time <= r.step else { return nil }
                return Double(y - x) / dt
            }
            rx.append(rate(a.rx, b.rx))
            tx.append(rate(a.tx, b.tx))
        }
        return (times, rx, tx)
    }
}
