import Foundation
import WGModel
import WGProvision
import XCTest

@testable import WGAgent
@testable import WGHub

/// `wgagent check-port` against the real hub (in-process, TLS on 127.0.0.1) and its real UDP prober.
final class WGCheckPortTests: XCTestCase {

    /// Enrolls a fake machine and returns the enrollment (its client talks to the live hub).
    func enrolled(_ hub: LiveHub, url: String) async throws -> WGEnrollment {
        let token = try hub.token()
        let host = fakeDebian()
        let facts = try WGFacts.gather(host)
        return try await blocking {
            try WGEnroller(host: host, facts: facts).enroll(WGEnrollOptions(hubURL: url, token: token, pin: hub.tls.pin, profile: siteGateway)).enrollment
        }
    }

    func check(_ e: WGEnrollment, port: Int, timeout: Double = 3, listener: any WGProbeListener,
               link: (any WGProbeListener)? = nil) async throws -> WGPortCheckResult {
        final class Hold: @unchecked Sendable {
            let l: any WGProbeListener
            let link: (any WGProbeListener)?
            init(_ l: any WGProbeListener, _ link: (any WGProbeListener)?) { self.l = l; self.link = link }
        }
        let hold = Hold(listener, link)
        let client = try e.client()
        let credential = e.credential
        return try await blocking {
            var c = WGPortChecker(client: client, credential: credential, port: port, timeout: timeout, openListener: { _ in hold.l })
            if hold.link != nil { c.openLinkView = { _ in hold.link } }
            return try c.run()
        }
    }

    func siteVerdict(_ hub: LiveHub) async throws -> String? {
        try await hub.store.allSites().first?.probeVerdict
    }

    /// A UDP port on loopback that nothing holds (bound, read, closed).
    func freePort() throws -> Int {
        let l = try WGUDPProbeListener(port: 0, address: "127.0.0.1")
        defer { l.close() }
        return l.port
    }

    func testBoundSocketSeesTheNonceAndTheHubStoresOpen() async throws {
        let hub = try LiveHub()
        try await hub.serve { url in
            let e = try await enrolled(hub, url: url)
            let listener = try WGUDPProbeListener(port: 0, address: "127.0.0.1")
            let r = try await check(e, port: listener.port, listener: listener)
            XCTAssertEqual(r.verdict, .forwarded, "\(r)")
            XCTAssertEqual(r.hubVerdict, "open")
            XCTAssertNotNil(r.nonce)
            XCTAssertEqual(r.sentTo, "127.0.0.1:\(listener.port)")
            XCTAssertTrue(r.healthCheck.ok)
            let stored = try await siteVerdict(hub)
            XCTAssertEqual(stored, "open")
        }
    }

    func testNothingOnThePortIsNotReachingAndTheHubStoresClosed() async throws {
        let hub = try LiveHub()
        try await hub.serve { url in
            let e = try await enrolled(hub, url: url)
            let probed = try freePort()
            let listener = try WGUDPProbeListener(port: 0, address: "127.0.0.1")  // watches another port
            XCTAssertNotEqual(listener.port, probed)
            let start = Date()
            let r = try await check(e, port: probed, timeout: 1, listener: listener)
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "bounded by the timeout")
            XCTAssertEqual(r.verdict, .notReaching)
            XCTAssertEqual(r.verdict.rawValue, "not reaching the VM")
            XCTAssertNil(r.nonce)
            XCTAssertEqual(r.hubVerdict, "closed")
            XCTAssertTrue(r.causes.contains { $0.contains("port forward") }, "\(r.causes)")
            XCTAssertTrue(r.causes.contains { $0.contains("carrier-grade NAT") }, "\(r.causes)")
            XCTAssertTrue(r.causes.contains { $0.contains("upstream firewall") }, "\(r.causes)")
            XCTAssertEqual(r.healthCheck.name, "port_forward")
            XCTAssertFalse(r.healthCheck.ok)
            let stored = try await siteVerdict(hub)
            XCTAssertEqual(stored, "closed")
        }
    }

    func testRawSocketSeesTheProbeWhileAnotherSocketHoldsThePort() async throws {
        try requireEnvironment(getuid() == 0, "raw sockets need root")
        let hub = try LiveHub()
        try await hub.serve { url in
            let e = try await enrolled(hub, url: url)
            let holder = try WGUDPProbeListener(port: 0, address: "127.0.0.1")  // stands in for wireguard-go
            defer { holder.close() }
            let listener = try WGProbeListeners.open(port: holder.port)
            XCTAssertTrue(listener is WGRawProbeListener, "the port is taken: the raw socket watches (\(listener.description))")
            let r = try await check(e, port: holder.port, listener: listener)
            XCTAssertEqual(r.verdict, .forwarded, "\(r)")
            XCTAssertEqual(r.hubVerdict, "open")
            XCTAssertTrue(r.watchedWith.contains("raw"), r.watchedWith)

            // Seen before the firewall (AF_PACKET) but not by the listener past it: dropped by the firewall.
            let elsewhere = try WGUDPProbeListener(port: 0, address: "127.0.0.1")
            let link = try WGRawProbeListener(port: holder.port, view: .link)
            let d = try await check(e, port: holder.port, timeout: 1, listener: elsewhere, link: link)
            XCTAssertEqual(d.verdict, .droppedByFirewall, "\(d)")
            XCTAssertEqual(d.hubVerdict, "closed", "WireGuard cannot get it: closed on the hub")
        }
    }

    func testRawParseKeepsOnlyProbesToThePort() {
        let payload = WGProbeDatagram.encode(probeID: "prb_x", nonce: "n1")
        var packet: [UInt8] = [0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]
        packet += [0x30, 0x39, 0xCA, 0x6C, 0, UInt8(8 + payload.count), 0, 0] + payload  // 12345 -> 51820
        XCTAssertEqual(WGRawProbeListener.parse(packet, port: 51820)?.nonce, "n1")
        XCTAssertNil(WGRawProbeListener.parse(packet, port: 51821))
        var tcp = packet
        tcp[9] = 6
        XCTAssertNil(WGRawProbeListener.parse(tcp, port: 51820))
    }

    func testListenPortFromConfigThenEnrollmentThenDefault() throws {
        let host = fakeDebian()
        XCTAssertEqual(WGPortChecker.listenPort(host: host, enrollment: nil, interface: "wg0"), 51820)
        host.addFile("/etc/wireguard/wg0.conf", "[Interface]\nPrivateKey = x\nListenPort = 51999\n")
        XCTAssertEqual(WGPortChecker.listenPort(host: host, enrollment: nil, interface: "wg0"), 51999)
    }

    func testTheLastVerdictGoesIntoTheHealthReport() throws {
        let host = fakeDebian()
        let doctor = WGDoctor(host: host, facts: try WGFacts.gather(host), enrollment: nil)
        XCTAssertFalse(WGHealthCollector(doctor: doctor).collect(seq: 1).0.checks.contains { $0.name == "port_forward" })
        let r = WGPortCheckResult(verdict: .notReaching, port: 51820, probeID: "prb_x", sentTo: "203.0.113.2:51820",
                                  watchedWith: "bound UDP socket", nonce: nil, hubVerdict: "closed", causes: ["no forward"], checkedAt: 0)
        try WGPortCheckStore.save(r, host: host)
        let check = WGHealthCollector(doctor: doctor).collect(seq: 2).0.checks.first { $0.name == "port_forward" }
        XCTAssertEqual(check, WGHealthCheck(name: "port_forward", ok: false, detail: "UDP 51820: not reaching the VM; no forward"))
    }
}
