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

        let outDir = packageRoot.appendingPathComponent("lab-out")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let shot = outDir.appendingPathComponent("wghub-dashboard.png").path
        try? FileManager.default.removeItem(atPath: shot)
        let profile = try makeTempDir()
        try await withLiveHub(t) { url, _ in
            let common = [chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
                          "--user-data-dir=\(profile)", "--no-first-run", "--hide-scrollbars"]
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
}
