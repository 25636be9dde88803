import Foundation
import HummingbirdTesting
import NIOCore
import WGModel
import XCTest

@testable import WGHub

/// Granting a pending LAN: through the admin API (applied at once) and the way `wghub site grant` does it from
/// another process (the store only; `serve` notices the store's generation and reconciles).
final class LANGrantTests: XCTestCase {
    func testAdminAPIGrantRoutesAndWithdrawUnroutes() async throws {
        let t = try TestHub()
        let e = try await t.hub.enroll(enrollBody(token: try t.token(), lan: ["198.51.100.0/24"]), from: "203.0.113.10")
        XCTAssertEqual(t.wg.routes, [], "announced, not granted: not routed")
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            var r = try await client.postJSON("/v1/sites/\(e.siteID!)/lan", ["grant": ["198.51.100.0/24"]], bearer: admin)
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            XCTAssertEqual(try siteView(r.body).lan.map(\.state), [.routed])
            XCTAssertEqual(t.wg.routes, ["198.51.100.0/24"])
            XCTAssertEqual(t.wg.peers.values.first.map(Set.init), ["192.0.2.2/32", "198.51.100.0/24"])
            r = try await client.postJSON("/v1/sites/\(e.siteID!)/lan", ["grant": ["192.0.2.0/25"]], bearer: admin)
            XCTAssertEqual(r.status, .badRequest, "the pool is never granted")
            r = try await client.postJSON("/v1/sites/\(e.siteID!)/lan", ["grant": ["198.51.100.0/24"]], bearer: "wga_" + String(repeating: "x", count: 40))
            XCTAssertEqual(r.status, .forbidden)
            r = try await client.postJSON("/v1/sites/\(e.siteID!)/lan", ["revoke": ["198.51.100.0/24"]], bearer: admin)
            XCTAssertEqual(try siteView(r.body).lan.map(\.state), [.pending])
            XCTAssertEqual(t.wg.routes, [])
        }
    }

    func testGrantFromAnotherProcessIsAppliedByTheWatcher() async throws {
        let t = try TestHub()
        let e = try await t.hub.enroll(enrollBody(token: try t.token(), lan: ["198.51.100.0/24"]), from: "203.0.113.10")
        let watcher = Task { await t.hub.watchStore(every: 0.1) }  // as `serve` runs it from its start
        defer { watcher.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        let other = try WGHubStore.open(dataDirectory: t.dir)  // what `wghub site grant` opens
        _ = try await other.updateGrants(siteID: e.siteID!, grant: ["198.51.100.0/24"], revoke: [], policy: WGLANPolicy(pool: t.hub.config.pool))
        for _ in 0..<50 where t.wg.routes.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertEqual(t.wg.routes, ["198.51.100.0/24"], "serve reconciled within 5 s")
        // A second site may not be granted the same LAN.
        let e2 = try await t.hub.enroll(enrollBody(token: try t.token(), key: newPublicKey(), hostname: "b", lan: ["198.51.100.0/25"]), from: "203.0.113.11")
        do {
            _ = try await other.updateGrants(siteID: e2.siteID!, grant: ["198.51.100.0/25"], revoke: [], policy: WGLANPolicy(pool: t.hub.config.pool))
            XCTFail("an overlapping grant was accepted")
        } catch let err as WGHubError { XCTAssertEqual(err.reason, "lan_taken") }
    }
}

private func siteView(_ buffer: ByteBuffer) throws -> WGSiteView {
    let d = JSONDecoder()
    d.dateDecodingStrategy = .iso8601
    return try d.decode(WGSiteView.self, from: Data(buffer.readableBytesView))
}
