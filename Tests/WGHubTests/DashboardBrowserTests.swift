import Foundation
import WGModel
import XCTest

@testable import WGHub

/// The dashboard as a person sees it: Debian's headless chromium renders it from a live TLS hub; the
/// screenshot goes to lab-out/wghub-dashboard.png and the rendered page text is checked.
final class DashboardBrowserTests: XCTestCase {
    func testDashboardRendersInHeadlessChromium() async throws {
        let chromium = which("chromium")
        try requireEnvironment(chromium != nil, "needs Debian's chromium (scripts/install-deps.sh)")
        let t = try TestHub { $0.openDashboard = true }
        let token = try t.token(uses: 3)
        let ok = try await t.hub.enroll(enrollBody(token: token, hostname: "berlin-office", lan: ["198.51.100.0/24"]), from: "203.0.113.20")
        let bad = try await t.hub.enroll(enrollBody(token: token, hostname: "lisbon-shop"), from: "203.0.113.21")
        _ = try await t.hub.enroll(enrollBody(token: token, hostname: "oslo-cabin"), from: "203.0.113.22")
        let okSite = try await t.store.site(id: ok.siteID!)!
        t.wg.setLive(okSite.publicKey, handshake: Int64(Date().timeIntervalSince1970) - 20, rx: 52_428_800, tx: 1_048_576, endpoint: "203.0.113.20:51820")
        _ = try await t.hub.health(WGHealthReport(seq: 1, agentTime: 0, interface: "wg0", checks: [WGHealthCheck(name: "firewall", ok: true)]),
                                   body: "{}", site: okSite, from: nil)
        let badReport = WGHealthReport(seq: 1, agentTime: 0, interface: "wg0", checks: [WGHealthCheck(name: "forwarding", ok: false, detail: "net.ipv4.ip_forward is 0")])
        _ = try await t.hub.health(badReport, body: String(decoding: try JSONEncoder().encode(badReport), as: UTF8.self),
                                   site: try await t.store.site(id: bad.siteID!)!, from: nil)
        let p = try await t.hub.probe(WGProbeRequest(port: 51820), site: okSite, from: nil)
        _ = try await t.hub.completeProbe(id: p.probeID, nonce: WGProbeDatagram.decode(t.prober.sent[0].payload)!.nonce, site: okSite)

        let (shot, common) = try browserSetup(chromium!, screenshot: "wghub-dashboard.png")
        try await withLiveHub(t) { url, _ in
            let dom = try await blocking { try runCommand(common + ["--dump-dom", url + "/"], timeout: 90).out }
            // Page text in reading order.
            let text = dom.replacingOccurrences(of: "<[^>]+>", with: " ", options: .regularExpression)
                .replacingOccurrences(of: "\\s+", with: " ", options: .regularExpression)
            XCTAssertTrue(text.contains("3 sites: 1 offline, 1 stale, 1 online"), text)
            for s in ["oslo-cabin", "lisbon-shop", "berlin-office", "net.ipv4.ip_forward is 0", "1 failing", "forwarded", "203.0.113.20:51820", "50.0 MiB"] {
                XCTAssertTrue(text.contains(s), "\(s) missing from: \(text)")
            }
            let order = ["oslo-cabin", "lisbon-shop", "berlin-office"].map { text.range(of: $0)!.lowerBound }
            XCTAssertEqual(order, order.sorted(), "worst first: offline, stale, online")
            _ = try await blocking { try runCommand(common + ["--window-size=412,1000", "--screenshot=\(shot)", url + "/"], timeout: 90) }
        }
        let size = (try FileManager.default.attributesOfItem(atPath: shot)[.size] as? NSNumber)?.intValue ?? 0
        XCTAssertGreaterThan(size, 10_000, "screenshot \(shot) written")
        let png = try Data(contentsOf: URL(fileURLWithPath: shot)).prefix(8)
        XCTAssertEqual(Array(png), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        print("dashboard screenshot: \(shot)")
    }

    /// The site page (WGSitePage) with 30 days of history: availability with an outage, traffic, handshake age.
    /// Screenshot: lab-out/wghub-site.png (a phone's width).
    func testSitePageRendersInHeadlessChromium() async throws {
        let chromium = which("chromium")
        try requireEnvironment(chromium != nil, "needs Debian's chromium (scripts/install-deps.sh)")
        let t = try TestHub { $0.openDashboard = true }
        let id = try await t.hub.enroll(enrollBody(token: try t.token(), hostname: "berlin-office"), from: "203.0.113.20").siteID!
        let now = Int64(Date().timeIntervalSince1970)
        try await t.store.dbPool.write { db in
            try db.execute(sql: "UPDATE sites SET enrolled_at = ? WHERE id = ?", arguments: [Double(now - 31 * 86400), id])
        }
        // Hourly reports for 30 days, every 10 minutes for the last 30 hours; down from 14 h to 10 h ago.
        var times = Array(stride(from: now - 30 * 86400, to: now - 30 * 3600, by: 3600))
        times += Array(stride(from: now - 30 * 3600, through: now, by: 600)).filter { $0 < now - 14 * 3600 || $0 > now - 10 * 3600 }
        var rx: Int64 = 0
        for (i, at) in times.enumerated() {
            rx += 3_000_000 + Int64(i % 7) * 400_000
            let r = WGHealthReport(seq: Int64(i + 1), agentTime: at, interface: "wg0",
                                   peers: [WGHealthPeer(publicKey: newPublicKey(), endpoint: nil, latestHandshake: at - Int64(20 + i % 90),
                                                        receiveBytes: rx, transmitBytes: rx / 5)])
            _ = try await t.store.recordHealth(siteID: id, report: r, body: "{}", observedAddress: nil, retention: 100,
                                               now: Date(timeIntervalSince1970: Double(at)))
        }
        let (shot, common) = try browserSetup(chromium!, screenshot: "wghub-site.png")
        try await withLiveHub(t) { url, _ in
            let dom = try await blocking { try runCommand(common + ["--dump-dom", url + "/sites/\(id)"], timeout: 90).out }
            XCTAssertEqual(dom.components(separatedBy: "<svg").count - 1, 6, "six charts")
            XCTAssertTrue(dom.contains("Availability, 30 days"))
            _ = try await blocking { try runCommand(common + ["--window-size=412,2200", "--screenshot=\(shot)", url + "/sites/\(id)"], timeout: 90) }
        }
        let size = (try FileManager.default.attributesOfItem(atPath: shot)[.size] as? NSNumber)?.intValue ?? 0
        XCTAssertGreaterThan(size, 10_000, "screenshot \(shot) written")
        print("site page screenshot: \(shot)")
    }
}

/// Where a screenshot goes (lab-out/NAME, removed first) and headless chromium's common arguments, with a
/// profile folder of its own.
func browserSetup(_ chromium: String, screenshot name: String) throws -> (shot: String, common: [String]) {
    let outDir = packageRoot.appendingPathComponent("lab-out")
    try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
    let shot = outDir.appendingPathComponent(name).path
    try? FileManager.default.removeItem(atPath: shot)
    let profile = try makeTempDir()
    return (shot, [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
                   "--user-data-dir=\(profile)", "--no-first-run", "--hide-scrollbars"])
}
