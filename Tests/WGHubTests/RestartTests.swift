import Foundation
import WGModel
import XCTest

@testable import WGHub

final class RestartTests: XCTestCase {
    func testRestartKeepsEverythingAndReconcileKeepsLivePeers() async throws {
        let dir = try makeTempDir()
        let wg = FakeWireGuard()
        var keys: [String] = []
        var credential = ""
        var tokenID = ""
        do {
            let t = try TestHub(dir: dir, wg: wg)
            let token = try t.store.createToken(kind: .enroll, name: "gw", profile: "site-gateway", ttl: 3600, maxUses: 3, lanGrants: ["198.51.100.0/24"])
            tokenID = token.id
            for i in 0..<2 {
                let k = newPublicKey()
                keys.append(k)
                let e = try await t.hub.enroll(enrollBody(token: token.secret, key: k, hostname: "s\(i)", lan: i == 0 ? ["198.51.100.0/24"] : []), from: nil)
                credential = e.credential
            }
            _ = try await t.hub.health(WGHealthReport(seq: 7, agentTime: 0, interface: "wg0"), body: "{}", site: try await t.store.site(credential: credential)!, from: nil)
        }
        // Simulate a live session on the first peer and a stray peer nobody enrolled.
        wg.setLive(keys[0], handshake: 12345, rx: 99, tx: 77)
        let stray = newPublicKey()
        try wg.setPeer(publicKey: stray, allowedIPs: ["192.0.2.200/32"])
        // The second peer has drifted (wrong allowed-ips).
        try wg.setPeer(publicKey: keys[1], allowedIPs: ["192.0.2.99/32"])
        wg.resetCalls()

        let t2 = try TestHub(dir: dir, wg: wg)
        let report = try await t2.hub.reconcile()
        XCTAssertEqual(report.unchanged, [keys[0]], "a peer already right is not touched")
        XCTAssertEqual(report.updated, [keys[1]])
        XCTAssertEqual(report.removed, [stray])
        XCTAssertFalse(wg.calls.contains { $0.hasPrefix("set \(keys[0])") || $0.hasPrefix("remove \(keys[0])") }, "\(wg.calls)")
        XCTAssertEqual(try wg.dump().peers.first { $0.publicKey.base64 == keys[0] }?.latestHandshake, 12345, "its session goes on")
        XCTAssertEqual(wg.peers[keys[1]], ["192.0.2.3/32"])
        XCTAssertNil(wg.peers[stray])

        let sites = try await t2.store.allSites()
        XCTAssertEqual(sites.map(\.hostname), ["s0", "s1"])
        XCTAssertEqual(sites.map(\.address), ["192.0.2.2", "192.0.2.3"])
        XCTAssertEqual(sites[1].lastSeq, 7)
        await AssertNotNil(try await t2.store.site(credential: credential), "credentials survive a restart")
        let tok = try XCTUnwrap(try t2.store.tokens().first { $0.id == tokenID })
        XCTAssertEqual(tok.uses, 2)
        XCTAssertEqual(tok.state(now: Date()), "valid")
        // The same report again after restart is still a duplicate.
        let ack = try await t2.hub.health(WGHealthReport(seq: 7, agentTime: 0, interface: "wg0"), body: "{}", site: sites[1], from: nil)
        XCTAssertFalse(ack.stored)

        // Reconcile onto an empty interface (hub rebooted): every site comes back with its LAN route.
        let fresh = FakeWireGuard()
        let t3 = try TestHub(dir: dir, wg: fresh)
        let r3 = try await t3.hub.reconcile()
        XCTAssertEqual(Set(r3.added), Set(keys))
        XCTAssertEqual(fresh.peers[keys[0]], ["192.0.2.2/32", "198.51.100.0/24"])
        XCTAssertEqual(fresh.routes, ["198.51.100.0/24"])
    }

    func testDatabaseIsWALAndPrivate() throws {
        let dir = try makeTempDir()
        let store = try WGHubStore.open(dataDirectory: dir)
        let mode = try store.dbPool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(mode, "wal")
        let attrs = try FileManager.default.attributesOfItem(atPath: store.path)
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let secret = try store.createToken(kind: .enroll, ttl: 60, maxUses: 1).secret
        try store.dbPool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        let raw = try Data(contentsOf: URL(fileURLWithPath: store.path))
        XCTAssertNil(raw.range(of: Data(secret.utf8)), "tokens are stored hashed")
        XCTAssertNotNil(raw.range(of: Data(WGHubSecrets.hash(secret).utf8)))
    }

    func testPoolAndDurations() throws {
        let p = try WGAddressPool("192.0.2.0/24")
        XCTAssertEqual(p.hubAddress, "192.0.2.1")
        XCTAssertEqual(p.firstFree(excluding: []), "192.0.2.2")
        XCTAssertEqual(p.firstFree(excluding: Set((2...254).map { "192.0.2.\($0)" })), nil, "no broadcast address")
        XCTAssertEqual(p.firstFree(excluding: ["192.0.2.2", "192.0.2.4"]), "192.0.2.3")
        let v6 = try WGAddressPool("2001:db8:1::/64")
        XCTAssertEqual(v6.firstFree(excluding: []), "2001:db8:1::2")
        XCTAssertEqual(v6.hostRoute("2001:db8:1::2"), "2001:db8:1::2/128")
        XCTAssertThrowsError(try WGAddressPool("192.0.2.1/24")) { XCTAssertTrue("\($0)".contains("192.0.2.0/24")) }
        XCTAssertThrowsError(try WGAddressPool("192.0.2.0/31"))
        XCTAssertThrowsError(try WGAddressPool("192.0.2.0"))
        XCTAssertEqual(WGDurations.parse("90s"), 90)
        XCTAssertEqual(WGDurations.parse("24h"), 86400)
        XCTAssertEqual(WGDurations.parse("7d"), 604800)
        XCTAssertNil(WGDurations.parse("soon"))
        XCTAssertNil(WGDurations.parse("-5m"))
    }
}
