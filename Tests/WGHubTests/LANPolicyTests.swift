import Foundation
import WGModel
import XCTest

@testable import WGHub

/// The route policy, the hub-network facts it reads, the throttles and the weak-key check, without a server.
final class LANPolicyTests: XCTestCase {
    func testHostNetworksFromIPOutput() {
        let addrs = """
            1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
            2: eth0    inet 203.0.113.5/24 brd 203.0.113.255 scope global eth0\\       valid_lft forever
            3: wg0    inet 192.0.2.1/24 scope global wg0\\       valid_lft forever
            2: eth0    inet6 2001:db8:1::5/64 scope global \\       valid_lft forever
            2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever
            """
        let routes = """
            default via 203.0.113.254 dev eth0 proto static
            192.0.2.0/24 dev wg0 proto kernel scope link src 192.0.2.1
            198.51.100.0/24 dev wg0 scope link
            203.0.113.0/24 dev eth0 proto kernel scope link src 203.0.113.5
            unreachable 2001:db8:ff::/48 dev lo metric 1024
            default via 2001:db8:1::1 dev eth0 metric 1024
            """
        let h = WGHostNetworks.parse(addresses: addrs, routes: routes, interface: "wg0")
        XCTAssertEqual(Set(h.gateways.map(\.description)), ["203.0.113.254", "2001:db8:1::1"])
        XCTAssertEqual(h.tunnelRoutes.map(\.description), ["198.51.100.0/24"], "the pool's kernel route is not a site's")
        let nets = Set(h.networks.map(\.cidr.description))
        XCTAssertTrue(nets.isSuperset(of: ["127.0.0.0/8", "203.0.113.0/24", "2001:db8:1::/64", "2001:db8:ff::/48"]), "\(nets)")
        XCTAssertFalse(nets.contains("192.0.2.0/24"), "the WireGuard interface's own address is the pool, checked apart")
        XCTAssertFalse(nets.contains { $0.hasPrefix("fe80") }, "link-local is on every link: not a claim")
    }

    func testPolicyRoutesOnlyGrantedAndSafePrefixes() throws {
        let pool = try WGAddressPool("192.0.2.0/24")
        let host = WGHostNetworks(networks: [.init(cidr: try WGCIDR("203.0.113.0/25"), device: "eth0")],
                                  gateways: [try WGIPAddress("203.0.113.254")])
        let policy = WGLANPolicy(pool: pool, host: host)
        let now = Date()
        func site(_ id: Int64, lan: [String], granted: [String], via: String? = nil) -> WGSite {
            WGSite(id: id, publicKey: "k\(id)", address: "192.0.2.\(id + 1)", hostname: "s\(id)", listenPort: 51820,
                   lanSubnets: lan, lanGranted: granted, observedAddress: via, enrolledAt: now, updatedAt: now)
        }
        let older = site(1, lan: ["198.51.100.0/25"], granted: ["198.51.100.0/25"])
        let s = site(2, lan: ["10.0.0.0/8", "203.0.113.128/25", "203.0.113.0/26", "198.51.100.0/25", "198.51.100.128/26",
                              "198.51.100.192/27", "2001:db8:5::/48"],
                     granted: ["10.0.0.0/8", "203.0.113.128/25", "203.0.113.0/26", "198.51.100.0/25", "198.51.100.192/27", "2001:db8:5::/48"],
                     via: "198.51.100.200")
        let d = policy.decide(s, others: [older])
        XCTAssertEqual(d.map(\.state), [.refused, .refused, .refused, .refused, .pending, .refused, .routed], "\(d)")
        XCTAssertTrue(d[0].reason!.contains("wider than /16"))
        XCTAssertTrue(d[1].reason!.contains("default gateway 203.0.113.254"))
        XCTAssertTrue(d[2].reason!.contains("hub's own network 203.0.113.0/25 on eth0"))
        XCTAssertTrue(d[3].reason!.contains("site 1"))
        XCTAssertTrue(d[4].reason!.contains("wghub site grant 2 198.51.100.128/26"))
        XCTAssertTrue(d[5].reason!.contains("198.51.100.200, the address the hub reaches this site at"))
        XCTAssertEqual(policy.routed(older, others: [s]), ["198.51.100.0/25"], "the older site keeps its LAN")
        // Claims parsed once from every site, its own among them (the dashboard, reconcile): the same verdicts.
        let claims = WGLANPolicy.claims([older, s])
        XCTAssertEqual(policy.decide(s, claims: claims), d)
        XCTAssertEqual(policy.routed(older, claims: claims), ["198.51.100.0/25"])
        XCTAssertThrowsError(try policy.checkGrant("192.0.2.0/25"))
        XCTAssertThrowsError(try policy.checkGrant("198.51.100.1/24"))
        XCTAssertThrowsError(try policy.checkGrant("10.0.0.0/8"))
        XCTAssertEqual(try policy.checkGrant("198.51.100.0/24"), "198.51.100.0/24")
    }

    func testFailureLimiterByAddressNetworkAndOverall() {
        let t0 = Date()
        let l = WGFailureRateLimiter(limit: 3, window: 60, networkLimit: 5, globalLimit: 12)
        for _ in 0..<3 { l.recordFailure("203.0.113.9", now: t0) }
        XCTAssertEqual(l.verdict("203.0.113.9", now: t0), .address)
        XCTAssertEqual(l.verdict("203.0.113.10", now: t0), .allowed)
        for i in 0..<2 { l.recordFailure("203.0.113.\(20 + i)", now: t0) }
        XCTAssertEqual(l.verdict("203.0.113.77", now: t0), .network, "a fresh address of the same /24")
        XCTAssertEqual(l.verdict("198.51.100.7", now: t0), .allowed)
        for i in 0..<7 { l.recordFailure("2001:db8:\(i)::1", now: t0) }
        XCTAssertEqual(l.verdict("198.51.100.7", now: t0), .global)
        XCTAssertEqual(l.verdict("198.51.100.7", now: t0.addingTimeInterval(61)), .allowed, "failures age out")
        XCTAssertEqual(WGFailureRateLimiter.network("2001:db8:1:2:3::9"), "2001:db8:1:2::/64")
    }

    func testWeakKeysAreRecognised() throws {
        XCTAssertTrue(try WGKey(base64: String(repeating: "A", count: 43) + "=").isWeakPublicKey)
        XCTAssertTrue(try WGKey(base64: "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=").isWeakPublicKey)
        // p - 1 with the top bit set: X25519 ignores that bit.
        XCTAssertTrue(try WGKey(bytes: [0xec] + [UInt8](repeating: 0xff, count: 31)).isWeakPublicKey)
        for _ in 0..<200 { XCTAssertFalse(WGKey.generatePrivate().publicKey.isWeakPublicKey) }
    }
}
