import Foundation
import XCTest
@testable import WGModel

final class WGDumpTests: XCTestCase {
    let sample = """
    \(WGFixtures.priv)\t\(WGFixtures.privPub)\t51820\toff
    \(WGFixtures.peer1)\t\(WGFixtures.psk)\t203.0.113.5:51820\t198.51.100.0/24,2001:db8:2::/48\t1763786400\t1234\t5678\t25
    \(WGFixtures.peer2)\t(none)\t(none)\t(none)\t0\t0\t0\toff

    """

    func testParsesSample() throws {
        let d = try WGDump.parse(sample)
        XCTAssertEqual(d.publicKey.base64, WGFixtures.privPub)
        XCTAssertEqual(d.listenPort, 51820)
        XCTAssertNil(d.fwMark)
        XCTAssertEqual(d.peers.count, 2)
        let p = d.peers[0]
        XCTAssertEqual(p.publicKey.base64, WGFixtures.peer1)
        XCTAssertEqual(p.endpoint, "203.0.113.5:51820")
        XCTAssertEqual(p.allowedIPs.map(\.description), ["198.51.100.0/24", "2001:db8:2::/48"])
        XCTAssertEqual(p.latestHandshake, 1763786400)
        XCTAssertEqual(p.receiveBytes, 1234)
        XCTAssertEqual(p.transmitBytes, 5678)
        XCTAssertEqual(p.persistentKeepalive, 25)
        XCTAssertTrue(p.handshakeIsRecent(now: 1763786400 + 60))
        XCTAssertFalse(p.handshakeIsRecent(now: 1763786400 + 600))
        let q = d.peers[1]
        XCTAssertNil(q.endpoint)
        XCTAssertEqual(q.allowedIPs, [])
        XCTAssertEqual(q.latestHandshake, 0)
        XCTAssertNil(q.persistentKeepalive)
        XCTAssertFalse(q.handshakeIsRecent(now: 100))
        // The private key is read, never kept or printed.
        XCTAssertFalse(String(describing: d).contains(WGFixtures.priv))
        let json = String(decoding: try JSONEncoder().encode(d), as: UTF8.self)
        XCTAssertFalse(json.contains(WGFixtures.priv.replacingOccurrences(of: "/", with: "\\/")))
        XCTAssertFalse(json.contains(WGFixtures.psk.replacingOccurrences(of: "/", with: "\\/")))
        XCTAssertEqual(try JSONDecoder().decode(WGDump.self, from: Data(json.utf8)), d)
        XCTAssertEqual(try WGDump.parse(sample.replacingOccurrences(of: "\n", with: "\r\n")), d, "CRLF output")
    }

    func testDumpErrors() {
        let good = "\(WGFixtures.priv)\t\(WGFixtures.privPub)\t51820\toff"
        let cases: [(String, String)] = [
            ("", "wg show dump line 1: empty output"),
            ("wg0\t" + good, "wg show dump line 1: 5 columns look like `wg show all dump`"),
            ("(none)\t(none)\t0\toff", "wg show dump line 1: interface has no private key"),
            ("\(WGFixtures.priv)\t\(WGFixtures.privPub)\t99999\toff", "wg show dump line 1: listen port \"99999\""),
            (good + "\n\(WGFixtures.peer1)\t(none)\t(none)\t(none)\t0\t0\t0", "wg show dump line 2: peer line needs 8 tab-separated columns"),
            (good + "\n\(WGFixtures.peer1)\t(none)\t(none)\t192.0.2.0/40\t0\t0\t0\toff", "wg show dump line 2: allowed IP \"192.0.2.0/40\": prefix length must be 0…32"),
            (good + "\nshort\t(none)\t(none)\t(none)\t0\t0\t0\toff", "wg show dump line 2: peer public key: a key is 44 base64 characters, got 5"),
            (good + "\n\(WGFixtures.peer1)\t(none)\t(none)\t(none)\tx\t0\t0\toff", "wg show dump line 2: latest handshake \"x\""),
        ]
        for (text, prefix) in cases {
            XCTAssertThrowsError(try WGDump.parse(text), prefix) { e in
                XCTAssertTrue("\(e)".hasPrefix(prefix), "got: \(e)\nwant prefix: \(prefix)")
            }
        }
    }

    /// Two wireguard-go interfaces in a namespace of our own handshake over its loopback
    /// (203.0.113.1 on lo); the real `wg show NAME dump` must parse to what we configured.
    func testRealDumpFromNamespace() throws {
        let tools = try WGTestEnv.require(["wg", "wg-quick", "ip", "wireguard-go"], root: true)
        let wg = tools["wg"]!, ip = tools["ip"]!
        let pid = getpid()
        let ifA = "wgm\(pid)a", ifB = "wgm\(pid)b"
        let dir = try WGTestEnv.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ns = try WGNetns(name: "wgm\(pid)", tools: tools)
        defer { ns.destroy() }
        try ns.exec([ip, "link", "set", "lo", "up"])
        try ns.exec([ip, "address", "add", "203.0.113.1/32", "dev", "lo"])

        let a = WGKey.generatePrivate(), b = WGKey.generatePrivate()
        let c = WGKey.generatePrivate().publicKey, psk = WGKey.generatePreshared()
        let confA = WGQuickConfig(interface: WGInterfaceSection(
            privateKey: a, listenPort: 51820, addresses: [try WGCIDR("192.0.2.1/32"), try WGCIDR("2001:db8:1::1/64")]))
        let confB = WGQuickConfig(
            interface: WGInterfaceSection(privateKey: b, listenPort: 51821, addresses: [try WGCIDR("192.0.2.2/32")]),
            peers: [WGPeerSection(publicKey: a.publicKey, presharedKey: psk, allowedIPs: [try WGCIDR("192.0.2.1/32")],
                                  endpoint: try WGEndpoint("203.0.113.1:51820"))])
        try ns.up(config: try writePrivate(confA.render(), dir, "\(ifA).conf"), interface: ifA)
        try ns.up(config: try writePrivate(confB.render(), dir, "\(ifB).conf"), interface: ifB)
        let pskFile = try writePrivate(psk.base64 + "\n", dir, "psk")
        try ns.exec([wg, "set", ifA, "peer", b.publicKey.base64, "preshared-key", pskFile,
                     "endpoint", "203.0.113.1:51821", "allowed-ips", "192.0.2.2/32,2001:db8:2::/48",
                     "persistent-keepalive", "1"])
        try ns.exec([wg, "set", ifA, "peer", c.base64, "allowed-ips", "198.51.100.0/24"])

        // Bounded wait for the handshake the keepalive triggers.
        var dump = try WGDump.parse(try ns.exec([wg, "show", ifA, "dump"]))
        for _ in 0..<100 {
            if let p = dump.peers.first(where: { $0.publicKey == b.publicKey }), p.latestHandshake > 0, p.receiveBytes > 0 { break }
            usleep(100_000)
            dump = try WGDump.parse(try ns.exec([wg, "show", ifA, "dump"]))
        }
        XCTAssertEqual(dump.publicKey, a.publicKey, "dump public key equals WGKey.publicKey of our private key")
        XCTAssertEqual(dump.listenPort, 51820)
        XCTAssertNil(dump.fwMark)
        XCTAssertEqual(Set(dump.peers.map(\.publicKey)), [b.publicKey, c])
        let pb = try XCTUnwrap(dump.peers.first { $0.publicKey == b.publicKey })
        XCTAssertEqual(pb.endpoint, "203.0.113.1:51821")
        XCTAssertEqual(pb.allowedIPs.map(\.description), ["192.0.2.2/32", "2001:db8:2::/48"])
        XCTAssertEqual(pb.persistentKeepalive, 1)
        let now = Int64(Date().timeIntervalSince1970)
        XCTAssertTrue(pb.handshakeIsRecent(now: now, within: 60), "no handshake within 10 s: latestHandshake=\(pb.latestHandshake)")
        XCTAssertGreaterThan(pb.receiveBytes, 0)
        XCTAssertGreaterThan(pb.transmitBytes, 0)
        let pc = try XCTUnwrap(dump.peers.first { $0.publicKey == c })
        XCTAssertNil(pc.endpoint)
        XCTAssertEqual(pc.allowedIPs.map(\.description), ["198.51.100.0/24"])
        XCTAssertEqual(pc.latestHandshake, 0)
        XCTAssertEqual(pc.receiveBytes, 0)
        XCTAssertNil(pc.persistentKeepalive)
        XCTAssertFalse(String(describing: dump).contains(a.base64))

        // B's side: the peer it knows is A, with the handshake done and no keepalive.
        let dumpB = try WGDump.parse(try ns.exec([wg, "show", ifB, "dump"]))
        XCTAssertEqual(dumpB.publicKey, b.publicKey)
        XCTAssertEqual(dumpB.peers.map(\.publicKey), [a.publicKey])
        XCTAssertGreaterThan(dumpB.peers[0].latestHandshake, 0)
        XCTAssertNil(dumpB.peers[0].persistentKeepalive)

        // showconf of the running interface parses back into the peers we set.
        let shown = try WGQuickConfig.parse(try ns.exec([wg, "showconf", ifA]), source: "wg showconf \(ifA)")
        XCTAssertEqual(shown.interface.privateKey, a)
        XCTAssertEqual(shown.interface.listenPort, 51820)
        XCTAssertEqual(shown.peers.first { $0.publicKey == b.publicKey }?.presharedKey, psk)
    }
}
