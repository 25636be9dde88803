import Foundation
import GRDB
import HummingbirdTesting
import WGModel
import XCTest

@testable import WGHub

/// Site history (WGSiteHistory), the site page (WGSitePage, WGSVGChart) and the dashboard's table (WGDashboard).
final class HistoryTests: XCTestCase {
    /// A report at agent time `t` whose handshake is `age` seconds old (nil: never), with the given counters.
    func report(_ seq: Int64, at t: Int64, age: Int64?, rx: Int64 = 0, tx: Int64 = 0) -> WGHealthReport {
        WGHealthReport(
            seq: seq, agentTime: t, interface: "wg0",
            peers: [WGHealthPeer(publicKey: newPublicKey(), endpoint: nil, latestHandshake: age.map { t - $0 } ?? 0,
                                 receiveBytes: rx, transmitBytes: tx)])
    }

    func record(_ t: TestHub, _ id: Int64, _ r: WGHealthReport) async throws -> Bool {
        try await t.store.recordHealth(siteID: id, report: r, body: "{}", observedAddress: nil, retention: 100,
                                       now: Date(timeIntervalSince1970: Double(r.agentTime)))
    }

    func testBucketsAreWrittenAndDownsampled() async throws {
        let t = try TestHub()
        let id = try await t.hub.enroll(enrollBody(token: try t.token()), from: nil).siteID!
        let base: Int64 = 1_800_000_000  // an hour boundary
        _ = try await record(t, id, report(1, at: base + 5, age: 10, rx: 1000, tx: 100))
        _ = try await record(t, id, report(2, at: base + 30, age: 10, rx: 2000, tx: 200))
        _ = try await record(t, id, report(3, at: base + 70, age: 300, rx: 3000, tx: 300))  // stale
        _ = try await record(t, id, report(4, at: base + 130, age: nil, rx: 4000, tx: 400))  // no handshake: offline
        let dup = try await record(t, id, report(4, at: base + 140, age: 10))
        XCTAssertFalse(dup, "a duplicate is not counted")
        _ = try await record(t, id, report(5, at: base + 3700, age: 5, rx: 9000, tx: 900))  // the next hour

        let minutes = try await t.store.history(siteID: id, res: 60, from: base, to: base + 7200, step: 60)
        XCTAssertEqual(minutes.map(\.time), [base, base + 60, base + 120, base + 3660])
        XCTAssertEqual(minutes.map(\.reports), [2, 1, 1, 1])
        XCTAssertEqual(minutes.map(\.onlineMinutes), [1, 0, 0, 1], "a minute is online once, however many reports")
        XCTAssertEqual(minutes.map(\.rx), [2000, 3000, 4000, 9000], "the counter at the bucket's last report")

        // Downsampled: ten-minute points from minute rows, and the hour rows.
        let tens = try await t.store.history(siteID: id, res: 60, from: base, to: base + 600, step: 600)
        XCTAssertEqual(tens.count, 1)
        XCTAssertEqual(tens[0].reports, 4)
        XCTAssertEqual(tens[0].minutes, 3)
        XCTAssertEqual(tens[0].onlineMinutes, 1)
        let hours = try await t.store.history(siteID: id, res: 3600, from: base, to: base + 7200, step: 3600)
        XCTAssertEqual(hours.map(\.time), [base, base + 3600])
        let h = hours[0]
        XCTAssertEqual([h.reports, h.minutes, h.onlineMinutes, h.online, h.stale, h.offline], [4, 3, 1, 2, 1, 1])
        XCTAssertEqual(try XCTUnwrap(h.handshakeAgeMean), 320.0 / 3, accuracy: 0.001, "mean over reports with a handshake")
        XCTAssertEqual(h.handshakeAgeMax, 300)
        XCTAssertEqual(h.rx, 4000)
        XCTAssertEqual(h.tx, 400)
        XCTAssertEqual(hours[1].reports, 1)
        // Time between reports, as the dashboard would have shown the site: online for staleAfter (180 s) after an
        // online report, stale until offlineAfter after a stale one; nothing after an offline one.
        XCTAssertEqual(h.onlineSeconds, 25 + 40)
        XCTAssertEqual(h.staleSeconds, 60)
        XCTAssertEqual(hours[1].onlineSeconds, 0)
        XCTAssertEqual(minutes.map(\.onlineSeconds), [25, 40, 0, 0])

        // The site page's series from these points: a rate between consecutive points, none across a reset.
        let range = WGHistoryRange(label: "x", from: base, to: base + 7200, step: 60, points: minutes)
        let (_, rx, _) = WGSitePage.rates(range)
        XCTAssertEqual(rx, [1000.0 / 60, 1000.0 / 60, nil], "bytes/s; nil across a gap")
    }

    func testAvailabilityFromSecondsBetweenReports() async throws {
        let t = try TestHub()
        let id = try await t.hub.enroll(enrollBody(token: try t.token()), from: nil).siteID!
        let base: Int64 = 1_800_000_000
        // Every 60 s for the first half hour, then every 300 s (stale between: 180 s online of each 300).
        var seq: Int64 = 0
        for at in stride(from: base, through: base + 1800, by: 60) { seq += 1; _ = try await record(t, id, report(seq, at: at, age: 10)) }
        for at in stride(from: base + 2100, to: base + 3600, by: 300) { seq += 1; _ = try await record(t, id, report(seq, at: at, age: 10)) }
        let pts = try await t.store.history(siteID: id, res: 3600, from: base, to: base + 3600, step: 3600)
        XCTAssertEqual(pts[0].onlineSeconds, 1800 + 5 * 180)
        XCTAssertEqual(pts[0].staleSeconds, 5 * 120)
        let range = WGHistoryRange(label: "1 h", from: base, to: base + 3600, step: 3600, points: pts)
        XCTAssertEqual(try XCTUnwrap(WGSitePage.availability(range, enrolled: base)), 75, accuracy: 0.01)
        XCTAssertEqual(WGSitePage.availabilitySeries(range, enrolled: base).1, [75])
    }

    func testRetentionPrunesMinutesAfterTwoDaysAndHoursAfterNinety() async throws {
        let t = try TestHub()
        let id = try await t.hub.enroll(enrollBody(token: try t.token()), from: nil).siteID!
        let base: Int64 = 1_800_000_000
        _ = try await record(t, id, report(1, at: base, age: 1))
        _ = try await record(t, id, report(2, at: base + 3600, age: 1))
        await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 60), 2)
        await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 3600), 2)
        _ = try await record(t, id, report(3, at: base + 3 * 86400, age: 1))
        await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 60), 1, "minute rows older than two days are gone")
        await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 3600), 3)
        _ = try await record(t, id, report(4, at: base + 92 * 86400, age: 1))
        await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 60), 1)
        let hours = try await t.store.history(siteID: id, res: 3600, from: 0, to: base + 100 * 86400, step: 3600)
        XCTAssertEqual(hours.map(\.time), [base + 3 * 86400, base + 92 * 86400], "hour rows older than 90 days are gone")
        // A deleted site takes its history with it.
        _ = try await t.hub.deleteSite(id: id)
        await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 3600), 0)
    }

    /// Silent sites and a site gone without its rows: the periodic prune reaches them, the write path does not.
    func testPeriodicPruneReachesSilentSitesAndRowsOfASiteThatIsGone() async throws {
        let t = try TestHub()
        let token = try t.token(uses: 3)
        var ids: [Int64] = []
        for name in ["silent-a", "silent-b", "live"] {
            ids.append(try await t.hub.enroll(enrollBody(token: token, hostname: name), from: nil).siteID!)
        }
        let base: Int64 = 1_800_000_000
        for id in ids {
            _ = try await record(t, id, report(1, at: base, age: 1))
            _ = try await record(t, id, report(2, at: base + 3600, age: 1))
        }
        // Rows of a site that does not exist (written with foreign keys off, as a hand-edited store could be).
        let gone: Int64 = 999
        try await t.store.dbPool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.execute(sql: "INSERT INTO site_history (site_id, res, bucket, reports) VALUES (?, 60, ?, 1), (?, 3600, ?, 1)",
                           arguments: [gone, base, gone, base])
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        // Only the live site reports three days on: the write path prunes its rows, nobody else's.
        let later = base + 3 * 86400
        _ = try await record(t, ids[2], report(3, at: later, age: 1))
        await AssertEqual(try await t.store.historyRowCount(siteID: ids[0], res: 60), 2, "kept past the retention until the prune")

        let n = try await t.store.pruneHistory(now: Date(timeIntervalSince1970: Double(later)), sitesPerStep: 1)
        XCTAssertEqual(n.history, 2 + 2 + 2, "the silent sites' minute rows and both rows of the site that is gone")
        for id in ids.prefix(2) {
            await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 60), 0, "minute rows older than two days")
            await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 3600), 2, "hour rows are kept 90 days")
        }
        await AssertEqual(try await t.store.historyRowCount(siteID: gone, res: 60), 0)
        await AssertEqual(try await t.store.historyRowCount(siteID: gone, res: 3600), 0)
        await AssertEqual(try await t.store.historyRowCount(siteID: ids[2], res: 60), 1)
        await AssertEqual(try await t.store.historyRowCount(siteID: ids[2], res: 3600), 3)

        let again = try await t.store.pruneHistory(now: Date(timeIntervalSince1970: Double(base + 92 * 86400)))
        XCTAssertEqual(again.history, 2 + 2 + 2 + 1, "90 days on: every hour row but the live site's last, and its minute row")
        await AssertEqual(try await t.store.historyRowCount(siteID: ids[0], res: 3600), 0)
        await AssertEqual(try await t.store.historyRowCount(siteID: ids[2], res: 3600), 1)
    }

    /// Incidents have no foreign key: deleting a site drops those nothing waits for; an open one is resolved (and
    /// notified) by the evaluator first, then the periodic prune drops it.
    func testDeletingASiteDropsTheIncidentsNothingWaitsFor() async throws {
        let t = try TestHub { $0.alerts.grace = 0; $0.alerts.holdDown = 0 }
        let token = try t.token(uses: 2)
        let a = try await t.hub.enroll(enrollBody(token: token, hostname: "a"), from: nil).siteID!
        let b = try await t.hub.enroll(enrollBody(token: token, hostname: "b"), from: nil).siteID!
        let now = Date().timeIntervalSince1970
        let rows: [(Int64, String, Double?, Double?)] = [
            (a, "offline", nil, nil), (a, "port_forward", now - 100, nil), (a, "check:x", now - 500, now - 400), (b, "offline", now - 100, nil),
        ]
        try await t.store.dbPool.write { db in
            for (site, kind, opened, resolved) in rows {
                try db.execute(
                    sql: "INSERT INTO incidents (site_id, hostname, kind, detail, started_at, opened_at, resolved_at) VALUES (?, 'x', ?, 'd', ?, ?, ?)",
                    arguments: [site, kind, now - 600, opened, resolved])
            }
        }
        _ = try await t.hub.deleteSite(id: a)
        let kept = try await t.store.incidents(all: true).map { "\($0.siteID) \($0.kind)" }
        XCTAssertEqual(kept.sorted(), ["\(a) port_forward", "\(b) offline"].sorted(),
                       "the pending and the resolved incident of the deleted site are gone, the open one stays")
        let pruned = try await t.store.pruneHistory()
        XCTAssertEqual(pruned.incidents, 0, "an open incident waits for its resolution")
        try await t.hub.alerts.evaluate()
        let resolved = try await t.store.incidents(all: true).filter { $0.siteID == a }
        XCTAssertEqual(resolved.count, 1)
        XCTAssertNotNil(resolved.first?.resolvedAt, "the evaluator resolved it: its site's problems are gone")
        let second = try await t.store.pruneHistory()
        XCTAssertEqual(second.incidents, 1)
        await AssertEqual(try await t.store.incidents(all: true).map(\.siteID), [b])
    }

    /// --no-history writes no rows (the report is still stored) and the site page says so; --no-alerts: the
    /// evaluator returns at once, the page says so too.
    func testNoHistoryAndNoAlerts() async throws {
        var o = WGServeOptions(endpoint: "203.0.113.1:51820", pool: testPool)
        o.noHistory = true
        o.noAlerts = true
        let (config, _) = try WGHubServer.configuration(o, logger: quietLogger())
        XCTAssertFalse(config.history)
        XCTAssertFalse(config.alerts.enabled)
        XCTAssertTrue(try WGHubServer.configuration(.init(endpoint: "203.0.113.1:51820", pool: testPool), logger: quietLogger()).0.history)

        let t = try TestHub { $0.history = false; $0.alerts.enabled = false; $0.alerts.grace = 0 }
        let admin = try t.admin()
        let id = try await t.hub.enroll(enrollBody(token: try t.token()), from: nil).siteID!
        let site = try await t.store.site(id: id)!
        let ack = try await t.hub.health(healthReport(1), body: "{}", site: site, from: nil)
        XCTAssertTrue(ack.stored)
        XCTAssertEqual(try t.store.reportCount(siteID: id), 1)
        await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 60), 0)
        await AssertEqual(try await t.store.historyRowCount(siteID: id, res: 3600), 0)

        let hub = t.hub
        let returned = await withTaskGroup(of: Bool.self) { g in
            g.addTask { await hub.alerts.run(); return true }
            g.addTask { try? await Task.sleep(for: .seconds(10)); return false }
            let first = await g.next() ?? false
            g.cancelAll()
            return first
        }
        XCTAssertTrue(returned, "with alerts off the evaluator's loop does not run")
        await AssertEqual(try await t.store.incidents(all: true).count, 0, "the offline site opened no incident")

        try await t.app().test(.router) { client in
            let html = String(buffer: try await client.get("/sites/\(id)", bearer: admin).body)
            XCTAssertTrue(html.contains("History is off"), html)
            XCTAssertTrue(html.contains("Alerting is off"), html)
        }
        let on = try TestHub()
        let onAdmin = try on.admin()
        let onID = try await on.hub.enroll(enrollBody(token: try on.token()), from: nil).siteID!
        try await on.app().test(.router) { client in
            let html = String(buffer: try await client.get("/sites/\(onID)", bearer: onAdmin).body)
            XCTAssertFalse(html.contains("History is off") || html.contains("Alerting is off"))
        }
    }

    func testSitePageRendersChartsEscapesAndNeedsAdmin() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        let id = try await t.hub.enroll(enrollBody(token: try t.token(), hostname: "site-a"), from: nil).siteID!
        let hostile = "<b>evil</b>&\"x"
        try await t.store.dbPool.write { db in
            try db.execute(sql: "UPDATE sites SET hostname = ? WHERE id = ?", arguments: [hostile, id])
            try db.execute(
                sql: "INSERT INTO incidents (site_id, hostname, kind, detail, started_at) VALUES (?, ?, 'offline', ?, ?)",
                arguments: [id, hostile, "<i>down</i>", Date().timeIntervalSince1970 - 300])
        }
        let now = Int64(Date().timeIntervalSince1970)
        for (i, dt) in [1800, 1200, 600, 0].enumerated() {
            _ = try await record(t, id, report(Int64(i + 1), at: now - Int64(dt), age: 20, rx: Int64(i) * 60_000, tx: Int64(i) * 6000))
        }
        try await t.app().test(.router) { client in
            // Anonymous: sent to sign in, back to this page afterwards (BrowserSessionTests).
            await AssertEqual(try await client.get("/sites/\(id)").headers[.location], "/signin?next=%2Fsites%2F\(id)")
            await AssertEqual(try await client.get("/sites/\(id)", bearer: "wga_wrongwrongwrong").status, .forbidden)
            await AssertEqual(try await client.get("/sites/999", bearer: admin).status, .notFound)
            await AssertEqual(try await client.get("/sites/abc", bearer: admin).status, .badRequest)
            let page = try await client.get("/sites/\(id)", bearer: admin)
            XCTAssertEqual(page.status, .ok)
            XCTAssertEqual(page.headers[.contentType], "text/html; charset=utf-8")
            let html = String(buffer: page.body)
            XCTAssertFalse(html.contains("<script"), "no JavaScript")
            XCTAssertTrue(html.contains("&lt;b&gt;evil&lt;/b&gt;&amp;&quot;x"), "the hostname is escaped")
            XCTAssertFalse(html.contains("<b>evil"))
            XCTAssertTrue(html.contains("&lt;i&gt;down&lt;/i&gt;"), "incident detail escaped")
            XCTAssertFalse(html.contains("<i>down"))
            XCTAssertEqual(html.components(separatedBy: "<svg class=\"chart\"").count - 1, 6, "3 availability, 2 traffic, 1 handshake")
            for s in ["Availability, 24 h", "Availability, 7 days", "Availability, 30 days", "Traffic rate, 24 h", "Handshake age, 24 h",
                      "data-series=\"online %\"", "data-series=\"received\"", "data-series=\"sent\"", "data-series=\"mean\"",
                      "<polyline class=\"series\" data-series=\"received\"", "192.0.2.2", "Port forward", "offline"] {
                XCTAssertTrue(html.contains(s), "\(s) missing")
            }
            // The dashboard links to the page, its hostname escaped there too.
            let dash = String(buffer: try await client.get("/", bearer: admin).body)
            XCTAssertTrue(dash.contains("<a href=\"/sites/\(id)\">&lt;b&gt;evil&lt;/b&gt;&amp;&quot;x</a>"), dash)
        }
    }

    func testTableIsWorstFirstAndFilters() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        let token = try t.token(uses: 3)
        let a = try await t.hub.enroll(enrollBody(token: token, hostname: "alpha"), from: nil).siteID!
        let b = try await t.hub.enroll(enrollBody(token: token, hostname: "bravo"), from: nil).siteID!
        let c = try await t.hub.enroll(enrollBody(token: token, hostname: "branch-charlie"), from: nil).siteID!
        let now = Int64(Date().timeIntervalSince1970)
        t.wg.setLive(try await t.store.site(id: a)!.publicKey, handshake: now - 5, rx: 10, tx: 20)
        t.wg.setLive(try await t.store.site(id: c)!.publicKey, handshake: now - 300)
        _ = try await t.hub.health(healthReport(1), body: "{}", site: try await t.store.site(id: a)!, from: nil)
        _ = try await t.hub.health(healthReport(1), body: "{}", site: try await t.store.site(id: c)!, from: nil)
        let link: @Sendable (Int64) -> String = { id in "href=\"/sites/\(id)\"" }
        try await t.app().test(.router) { client in
            await AssertEqual(try await client.get("/?status=offline").status, .seeOther)
            let html = String(buffer: try await client.get("/", bearer: admin).body)
            XCTAssertTrue(html.contains("3 sites: 1 offline, 1 stale, 1 online"), html)
            XCTAssertTrue(html.contains("<table class=\"sites\">"))
            XCTAssertTrue(html.contains("<form method=\"get\" action=\"/\">"))
            // The page text as tests/system/test_lab_e2e.sh's hub_shows_site reads it (tags to spaces, spaces squeezed):
            // each cell carries its label (shown when rows stack on a phone), so "Port forward <verdict>" still reads.
            let text = html.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
                .replacingOccurrences(of: "\\s+", with: " ", options: .regularExpression)
            XCTAssertTrue(text.contains("Port forward not checked"), text)
            let order = try [b, c, a].map { try XCTUnwrap(html.range(of: link($0))).lowerBound }
            XCTAssertEqual(order, order.sorted(), "worst first: offline bravo, stale charlie, online alpha")

            let offline = String(buffer: try await client.get("/?status=offline", bearer: admin).body)
            XCTAssertTrue(offline.contains(link(b)))
            XCTAssertFalse(offline.contains(link(a)) || offline.contains(link(c)), offline)
            XCTAssertTrue(offline.contains("showing 1 of 3"))
            XCTAssertTrue(offline.contains("<option value=\"offline\" selected>"))
            XCTAssertTrue(offline.contains("3 sites: 1 offline, 1 stale, 1 online"), "the summary counts every site")

            let named = String(buffer: try await client.get("/?q=BRANCH", bearer: admin).body)
            XCTAssertTrue(named.contains(link(c)))
            XCTAssertFalse(named.contains(link(a)) || named.contains(link(b)))
            XCTAssertTrue(named.contains("value=\"BRANCH\""))
            let both = String(buffer: try await client.get("/?status=online&q=br", bearer: admin).body)
            XCTAssertFalse(both.contains(link(a)) || both.contains(link(b)) || both.contains(link(c)))
            XCTAssertTrue(both.contains("No site matches the filter."))
            let hostile = String(buffer: try await client.get("/?q=%3Cscript%3E", bearer: admin).body)
            XCTAssertFalse(hostile.contains("<script>"), "the query is escaped back into the form")
            XCTAssertTrue(hostile.contains("value=\"&lt;script&gt;\""))
            let all = String(buffer: try await client.get("/?status=bogus", bearer: admin).body)
            XCTAssertTrue(all.contains(link(a)) && all.contains(link(b)) && all.contains(link(c)), "an unknown status is no filter")

            let m = String(buffer: try await client.get("/metrics", bearer: admin).body)
            XCTAssertTrue(m.contains("# TYPE wireguard_peer_up gauge"), m)
            XCTAssertTrue(m.contains("wireguard_peer_up{site=\"alpha\",site_id=\"\(a)\""))
            XCTAssertTrue(m.components(separatedBy: "\n").contains { $0.hasPrefix("wireguard_peer_up{site=\"alpha\"") && $0.hasSuffix(" 1") }, m)
            XCTAssertTrue(m.components(separatedBy: "\n").contains { $0.hasPrefix("wireguard_peer_up{site=\"bravo\"") && $0.hasSuffix(" 0") }, m)
        }
    }

    /// A thousand sites in the table: rendered (and filtered) well inside a second, one row each.
    func testThousandSiteTableRendersQuickly() async throws {
        let t = try TestHub()
        let statuses: [WGSiteStatus] = [.online, .stale, .offline]
        let views = (1...1000).map { i in
            WGSiteView(
                id: Int64(i), hostname: "site-\(i)", publicKey: newPublicKey(), address: "10.0.\(i / 250).\(i % 250 + 2)",
                lanSubnets: [], lan: [], observedAddress: "203.0.113.\(i % 250)", endpoint: nil, latestHandshake: 1_800_000_000,
                receiveBytes: UInt64(i) << 20, transmitBytes: 4096, lastReportAt: Date(), lastSeq: Int64(i),
                status: statuses[i % 3], probeVerdict: i % 5 == 0 ? "closed" : "open", probeDetail: nil, probeAt: nil,
                failingChecks: i % 7 == 0 ? ["forwarding: net.ipv4.ip_forward is 0"] : [], os: nil, agentVersion: nil,
                enrolledAt: Date(), forwarding: true, firewall: "active", service: "active", machineConflictAt: nil)
        }.sorted(by: WGSiteView.worstFirst)
        let start = Date()
        let html = try await WGDashboard.render(views: views, hub: t.hub, now: Date())
        let filtered = try await WGDashboard.render(views: views, hub: t.hub, now: Date(), filter: .init(status: "offline", query: "site-1"))
        let took = Date().timeIntervalSince(start)
        XCTAssertEqual(html.components(separatedBy: "<tr class=").count - 1, 1000)
        XCTAssertEqual(filtered.components(separatedBy: "<tr class=\"offline\"").count - 1,
                       views.filter { $0.status == .offline && $0.hostname.contains("site-1") }.count)
        XCTAssertLessThan(took, 2, "two renders of 1,000 rows took \(took) s")
        print("1,000-site table: \(html.utf8.count) bytes, two renders in \(String(format: "%.3f", took)) s")
    }
}
