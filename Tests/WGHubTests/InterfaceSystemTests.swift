import Foundation
import WGModel
import XCTest

@testable import WGHub

/// The hub interface for real: wireguard-go in a network namespace this test creates (LAB.md), driven by
/// `WGCommandControl` through `ip netns exec`. Documentation ranges only; everything is removed by PID / name.
final class InterfaceSystemTests: XCTestCase {
    func testHubInterfaceHoldsEnrolledPeersAndRoutes() async throws {
        let tools = ["wg", "wireguard-go", "ip"].allSatisfy { which($0) != nil }
        try requireEnvironment(getuid() == 0 && tools, "needs root, wg, wireguard-go and ip (scripts/install-deps.sh)")

        let tag = "\(getpid() % 100000)"
        let ns = "wghubt\(tag)"
        let iface = "wgh\(tag)"  // unique: wireguard-go's socket in /run/wireguard is shared by all namespaces
        let dir = try makeTempDir()
        var wgGo: Child?
        defer {
            wgGo?.stop(grace: 3)
            _ = try? runCommand(["ip", "netns", "del", ns], timeout: 20, check: false)
            try? FileManager.default.removeItem(atPath: "/run/wireguard/\(iface).sock")
        }
        try runCommand(["ip", "netns", "add", ns])
        try runCommand(["ip", "-n", ns, "link", "set", "lo", "up"])
        // -f: foreground, so the test owns its PID.
        wgGo = try Child([which("ip")!, "netns", "exec", ns, which("wireguard-go")!, "-f", iface])
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: "/run/wireguard/\(iface).sock") && Date() < deadline { usleep(50_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/run/wireguard/\(iface).sock"), wgGo?.text ?? "")
        let keyFile = dir + "/hub.key"
        try WGKey.generatePrivate().base64.write(toFile: keyFile, atomically: true, encoding: .utf8)
        try runCommand(["ip", "netns", "exec", ns, "wg", "set", iface, "private-key", keyFile, "listen-port", "51820"])
        try runCommand(["ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", iface])
        try runCommand(["ip", "-n", ns, "link", "set", iface, "up"])

        let control = WGCommandControl(interface: iface, prefix: ["ip", "netns", "exec", ns])
        let store = try WGHubStore.open(dataDirectory: dir)
        let hub = try WGHubService(config: try makeConfig(dir: dir), store: store, control: control, prober: RecordingProber(), logger: quietLogger())
        let token = try store.createToken(kind: .enroll, ttl: 600, maxUses: 10, lanGrants: ["198.51.100.0/24", "2001:db8:b::/48"]).secret
        let keyA = newPublicKey(), keyB = newPublicKey()
        let a = try await hub.enroll(enrollBody(token: token, key: keyA, hostname: "site-a", lan: ["198.51.100.0/24"]), from: "203.0.113.10")
        let b = try await hub.enroll(enrollBody(token: token, key: keyB, hostname: "site-b", lan: ["2001:db8:b::/48"]), from: "203.0.113.11")
        XCTAssertEqual(a.address, "192.0.2.2/24")
        XCTAssertEqual(a.hubPublicKey, try control.dump().publicKey.base64)

        var dump = try WGDump.parse(try runCommand(["ip", "netns", "exec", ns, "wg", "show", iface, "dump"]).out)
        var peers = Dictionary(uniqueKeysWithValues: dump.peers.map { ($0.publicKey.base64, Set($0.allowedIPs.map(\.description))) })
        XCTAssertEqual(peers[keyA], ["192.0.2.2/32", "198.51.100.0/24"])
        XCTAssertEqual(peers[keyB], ["192.0.2.3/32", "2001:db8:b::/48"])
        let routes4 = try runCommand(["ip", "-n", ns, "-4", "route", "show", "dev", iface]).out
        XCTAssertTrue(routes4.contains("198.51.100.0/24"), routes4)
        let routes6 = try runCommand(["ip", "-n", ns, "-6", "route", "show", "dev", iface]).out
        XCTAssertTrue(routes6.contains("2001:db8:b::/48"), routes6)

        // Give peer A a live endpoint (a session stand-in); reconcile must leave it alone and drop a stray peer.
        try runCommand(["ip", "netns", "exec", ns, "wg", "set", iface, "peer", keyA, "endpoint", "203.0.113.10:51820", "persistent-keepalive", "0"])
        let stray = newPublicKey()
        try runCommand(["ip", "netns", "exec", ns, "wg", "set", iface, "peer", stray, "allowed-ips", "192.0.2.250/32"])
        let hub2 = try WGHubService(config: try makeConfig(dir: dir), store: store, control: control, prober: RecordingProber(), logger: quietLogger())
        let rec = try await hub2.reconcile()
        XCTAssertEqual(Set(rec.unchanged), [keyA, keyB])
        XCTAssertEqual(rec.removed, [stray])
        dump = try WGDump.parse(try runCommand(["ip", "netns", "exec", ns, "wg", "show", iface, "dump"]).out)
        XCTAssertEqual(dump.peers.first { $0.publicKey.base64 == keyA }?.endpoint, "203.0.113.10:51820", "untouched peer keeps its endpoint")
        XCTAssertNil(dump.peers.first { $0.publicKey.base64 == stray })

        // Delete removes the peer and its route.
        _ = try await hub2.deleteSite(id: a.siteID!)
        dump = try WGDump.parse(try runCommand(["ip", "netns", "exec", ns, "wg", "show", iface, "dump"]).out)
        peers = Dictionary(uniqueKeysWithValues: dump.peers.map { ($0.publicKey.base64, Set($0.allowedIPs.map(\.description))) })
        XCTAssertNil(peers[keyA])
        XCTAssertNotNil(peers[keyB])
        XCTAssertFalse(try runCommand(["ip", "-n", ns, "-4", "route", "show", "dev", iface]).out.contains("198.51.100.0/24"))

        // Route claims against the hub's own networks, in the real namespace: an uplink, a default route, and a
        // route left on the interface by an older hub that routed claims. Even a token granting the uplink's
        // prefix does not route it; another site's LAN is not taken; the leftover is removed on reconcile.
        try runCommand(["ip", "-n", ns, "link", "add", "up0", "type", "veth", "peer", "name", "up1"])
        try runCommand(["ip", "-n", ns, "addr", "add", "203.0.113.5/24", "dev", "up0"])
        try runCommand(["ip", "-n", ns, "link", "set", "up0", "up"])
        try runCommand(["ip", "-n", ns, "link", "set", "up1", "up"])
        try runCommand(["ip", "-n", ns, "route", "add", "default", "via", "203.0.113.254"])
        try runCommand(["ip", "-n", ns, "-6", "route", "add", "2001:db8:dead::/48", "dev", iface])
        hub2.hostCache.invalidate()
        let greedy = try store.createToken(kind: .enroll, ttl: 600, maxUses: 2, lanGrants: ["203.0.113.0/24", "198.51.100.0/24"]).secret
        let keyC = newPublicKey()
        let c = try await hub2.enroll(
            enrollBody(token: greedy, key: keyC, hostname: "site-c", lan: ["203.0.113.0/24", "2001:db8:b::/48", "198.51.100.0/24"]),
            from: "203.0.113.77")
        _ = c
        let main4 = try runCommand(["ip", "-n", ns, "-4", "route", "show"]).out
        XCTAssertTrue(main4.contains("default via 203.0.113.254 dev up0"), main4)
        XCTAssertTrue(main4.contains("203.0.113.0/24 dev up0"), main4)
        XCTAssertFalse(main4.contains("203.0.113.0/24 dev \(iface)"), main4)
        XCTAssertTrue(main4.contains("198.51.100.0/24 dev \(iface)"), "the granted, safe LAN is routed: \(main4)")
        dump = try WGDump.parse(try runCommand(["ip", "netns", "exec", ns, "wg", "show", iface, "dump"]).out)
        peers = Dictionary(uniqueKeysWithValues: dump.peers.map { ($0.publicKey.base64, Set($0.allowedIPs.map(\.description))) })
        XCTAssertEqual(peers[keyC], ["192.0.2.2/32", "198.51.100.0/24"])
        XCTAssertEqual(peers[keyB], ["192.0.2.3/32", "2001:db8:b::/48"], "site B keeps its LAN")
        let lan = try await hub2.view(id: c.siteID!).lan
        XCTAssertEqual(lan.map(\.state), [.refused, .refused, .routed], "\(lan)")
        XCTAssertTrue(lan[0].reason?.contains("hub's default gateway 203.0.113.254") == true, "\(lan)")
        XCTAssertTrue(lan[1].reason?.contains("the LAN of site \(b.siteID!)") == true, "\(lan)")
        let rec2 = try await hub2.reconcile()
        XCTAssertEqual(rec2.routesRemoved, ["2001:db8:dead::/48"])
        XCTAssertFalse(try runCommand(["ip", "-n", ns, "-6", "route", "show", "dev", iface]).out.contains("2001:db8:dead::"))
        XCTAssertTrue(try runCommand(["ip", "-n", ns, "-6", "route", "show", "dev", iface]).out.contains("2001:db8:b::/48"))
    }
}
