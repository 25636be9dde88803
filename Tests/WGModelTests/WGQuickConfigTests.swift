import Foundation
import XCTest
@testable import WGModel

final class WGQuickConfigTests: XCTestCase {
    func testParsesEveryKey() throws {
        let c = try WGQuickConfig.parse(WGFixtures.full)
        let i = c.interface
        XCTAssertEqual(i.privateKey?.base64, WGFixtures.priv)
        XCTAssertEqual(i.listenPort, 51820)
        XCTAssertEqual(i.fwMark, "0x1234")
        XCTAssertEqual(i.fwMarkValue, 0x1234)
        XCTAssertEqual(i.addresses.map(\.description), ["192.0.2.1/24", "2001:db8::1/64", "198.51.100.1/32"])
        XCTAssertEqual(i.dns, ["192.0.2.53", "2001:db8::53", "example.com"])
        XCTAssertEqual(i.dnsServers.map(\.description), ["192.0.2.53", "2001:db8::53"])
        XCTAssertEqual(i.dnsSearch, ["example.com"])
        XCTAssertEqual(i.mtu, 1420)
        XCTAssertEqual(i.table, "off")
        XCTAssertEqual(i.preUp, ["echo pre-up"])
        XCTAssertEqual(i.postUp, ["iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE", "echo second"])
        XCTAssertEqual(i.preDown, ["echo pre-down"])
        XCTAssertEqual(i.postDown, ["iptables -t nat -D POSTROUTING -o eth0 -j MASQUERADE"])
        XCTAssertEqual(i.saveConfig, false)
        XCTAssertEqual(c.peers.count, 2)
        let p = c.peers[0]
        XCTAssertEqual(p.comment, "laptop")
        XCTAssertEqual(p.publicKey.base64, WGFixtures.peer1)
        XCTAssertEqual(p.presharedKey?.base64, WGFixtures.psk)
        XCTAssertEqual(p.allowedIPs.map(\.description), ["192.0.2.2/32", "2001:db8::2/128", "203.0.113.0/24"])
        XCTAssertEqual(p.endpoint, try WGEndpoint("[2001:db8::99]:51820"))
        XCTAssertEqual(p.persistentKeepalive, 25)
        let q = c.peers[1]
        XCTAssertNil(q.comment, "a blank line separates the comment from [PEER]")
        XCTAssertEqual(q.endpoint?.host, "vpn.example.com")
        XCTAssertEqual(q.endpoint?.port, 4500)
        XCTAssertNil(q.persistentKeepalive)
        XCTAssertNil(q.presharedKey)
        XCTAssertEqual(q.allowedIPs, [])
    }

    func testRenderIsCanonicalAndRoundTrips() throws {
        let c = try WGQuickConfig.parse(WGFixtures.full)
        let text = c.render()
        XCTAssertEqual(text, """
        [Interface]
        PrivateKey = \(WGFixtures.priv)
        ListenPort = 51820
        FwMark = 0x1234
        Address = 192.0.2.1/24, 2001:db8::1/64, 198.51.100.1/32
        DNS = 192.0.2.53, 2001:db8::53, example.com
        MTU = 1420
        Table = off
        PreUp = echo pre-up
        PostUp = iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE
        PostUp = echo second
        PreDown = echo pre-down
        PostDown = iptables -t nat -D POSTROUTING -o eth0 -j MASQUERADE
        SaveConfig = false

        # laptop
        [Peer]
        PublicKey = \(WGFixtures.peer1)
        PresharedKey = \(WGFixtures.psk)
        AllowedIPs = 192.0.2.2/32, 2001:db8::2/128, 203.0.113.0/24
        Endpoint = [2001:db8::99]:51820
        PersistentKeepalive = 25

        [Peer]
        PublicKey = \(WGFixtures.peer2)
        Endpoint = vpn.example.com:4500

        """)
        let again = try WGQuickConfig.parse(text)
        XCTAssertEqual(again, c)
        XCTAssertEqual(again.render(), text, "render is a fixed point")
    }

    func testRoundTripOfBuiltConfigs() throws {
        for _ in 0..<50 {
            var peers: [WGPeerSection] = []
            for n in 0..<Int.random(in: 0...4) {
                peers.append(WGPeerSection(
                    publicKey: WGKey.generatePrivate().publicKey,
                    presharedKey: Bool.random() ? WGKey.generatePreshared() : nil,
                    allowedIPs: [try WGCIDR("198.51.100.\(n)/32"), try WGCIDR("2001:db8:\(n)::/48")],
                    endpoint: Bool.random() ? try WGEndpoint("203.0.113.\(n + 1):\(51820 + n)") : nil,
                    persistentKeepalive: Bool.random() ? 25 : nil,
                    comment: Bool.random() ? "peer \(n)\nsecond line" : nil))
            }
            let c = WGQuickConfig(
                interface: WGInterfaceSection(privateKey: .generatePrivate(), listenPort: Bool.random() ? 51820 : nil,
                                              addresses: [try WGCIDR("192.0.2.1/24")], dns: Bool.random() ? ["192.0.2.53", "lan"] : [],
                                              mtu: Bool.random() ? 1280 : nil, table: Bool.random() ? "1234" : nil,
                                              postUp: ["echo up"], saveConfig: Bool.random() ? true : nil),
                peers: peers)
            XCTAssertEqual(try WGQuickConfig.parse(c.render()), c)
            let stripped = try WGQuickConfig.parse(c.stripped())
            XCTAssertEqual(stripped.peers, c.peers)
            XCTAssertEqual(stripped.interface.privateKey, c.interface.privateKey)
            XCTAssertEqual(stripped.interface.addresses, [])
            XCTAssertEqual(stripped.interface.postUp, [])
        }
    }

    func testStrippedKeepsOnlySetconfKeys() throws {
        let s = try WGQuickConfig.parse(WGFixtures.full).stripped()
        for gone in ["Address", "DNS", "MTU", "Table", "PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig"] {
            XCTAssertFalse(s.contains("\(gone) ="), "\(gone) must not be in stripped output")
        }
        for kept in ["PrivateKey", "ListenPort", "FwMark", "PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive"] {
            XCTAssertTrue(s.contains("\(kept) ="), "\(kept) must stay")
        }
    }

    func testValueVariants() throws {
        let c = try WGQuickConfig.parse("""
        [Interface]
        FwMark = off
        Table = auto
        SaveConfig = TRUE
        DNS = lan, corp.example.com
        [Peer]
        PublicKey = \(WGFixtures.peer1)
        PersistentKeepalive = 0
        AllowedIPs =
        """)
        XCTAssertEqual(c.interface.fwMark, "off")
        XCTAssertNil(c.interface.fwMarkValue)
        XCTAssertEqual(c.interface.table, "auto")
        XCTAssertEqual(c.interface.saveConfig, true)
        XCTAssertEqual(c.interface.dnsSearch, ["lan", "corp.example.com"])
        XCTAssertNil(c.peers[0].persistentKeepalive)
        XCTAssertEqual(c.peers[0].allowedIPs, [])
        XCTAssertEqual(try WGQuickConfig.parse("[Interface]\nFwMark = 4660\nTable = main\n").interface.fwMarkValue, 4660)
        XCTAssertEqual(try WGQuickConfig.parse("[Interface]\nTable = 51820\n").interface.table, "51820")
        XCTAssertEqual(try WGQuickConfig.parse("[Interface]\r\nListenPort = 1\r\n").interface.listenPort, 1, "CRLF files")
    }

    /// (file text, expected description). Line numbers count from 1.
    func testErrorsNameSourceLineAndKey() {
        let k = WGFixtures.peer1
        let cases: [(String, String)] = [
            ("[Interface]\nAddress = 192.0.2.1/24\n\n[Peer]\nPublicKey = \(k)\nAllowedIPs = 10.0.0.0/33\n",
             "wg0.conf:6: AllowedIPs \"10.0.0.0/33\": prefix length must be 0…32"),
            ("[Interface]\nAddress = 2001:db8::1/129\n",
             "wg0.conf:2: Address \"2001:db8::1/129\": prefix length must be 0…128"),
            ("[Interface]\nListenPort = 51820\nFoo = bar\n",
             "wg0.conf:3: Foo: unknown key in [Interface]: known keys are PrivateKey, ListenPort, FwMark, Address, DNS, MTU, Table, PreUp, PostUp, PreDown, PostDown, SaveConfig"),
            ("[Peer]\nPublicKey = \(k)\nKeepalive = 25\n",
             "wg0.conf:3: Keepalive: unknown key in [Peer]: known keys are PublicKey, PresharedKey, AllowedIPs, Endpoint, PersistentKeepalive"),
            ("# header\nPrivateKey = \(WGFixtures.priv)\n[Interface]\n",
             "wg0.conf:2: PrivateKey: key outside a section: put it under [Interface] or [Peer]"),
            ("[Interface]\nListenPort = 1\n[Interface]\n",
             "wg0.conf:3: [Interface]: duplicate [Interface] (first on line 1): merge them into one section"),
            ("[Interface]\n\n# bob\n[Peer]\nAllowedIPs = 192.0.2.2/32\n\n[Peer]\nPublicKey = \(k)\n",
             "wg0.conf:4: [Peer]: peer has no PublicKey: add `PublicKey = …` (the output of `wg pubkey` on that peer)"),
            ("[Interface]\n[Peer]\nPublicKey = \(k)\n[Peer]\nPublicKey = \(k)\n",
             "wg0.conf:5: PublicKey: the same peer appears twice (first [Peer] on line 2): merge the two sections"),
            ("[Interface]\nListenPort = 70000\n", "wg0.conf:2: ListenPort \"70000\": port must be 0…65535 (0 picks a random port)"),
            ("[Interface]\nListenPort = 1\nlistenport = 2\n", "wg0.conf:3: listenport: given twice (first on line 2): keep one"),
            ("[Interface]\nFwMark = 0x1ffffffff\n", "wg0.conf:2: FwMark \"0x1ffffffff\": must be off, a number or 0x-hex up to 0xffffffff"),
            ("[Interface]\nMTU = 9\n", "wg0.conf:2: MTU \"9\": MTU must be 68…65535 (1420 is the usual WireGuard MTU)"),
            ("[Interface]\nTable = two words\n", "wg0.conf:2: Table \"two words\": must be off, auto, a table number or a table name"),
            ("[Interface]\nSaveConfig = yes\n", "wg0.conf:2: SaveConfig \"yes\": must be true or false"),
            ("[Interface]\nDNS = 192.0.2.300\n", "wg0.conf:2: DNS \"192.0.2.300\": not an IPv4 address: write four numbers 0…255 without leading zeros, like 192.0.2.1"),
            ("[Interface]\nDNS = bad_domain\n", "wg0.conf:2: DNS \"bad_domain\": neither an IP address nor a search domain: label \"bad_domain\" may hold only letters, digits and hyphens"),
            ("[Interface]\nPrivateKey = abc\n", "wg0.conf:2: PrivateKey: a key is 44 base64 characters, got 3: copy it whole from `wg genkey` / `wg pubkey`"),
            ("[Interface]\nAddress = 192.0.2.1/24\n[Peer]\nPublicKey = \(k)\nEndpoint = 203.0.113.1\n",
             "wg0.conf:5: Endpoint \"203.0.113.1\": missing port: write host:port, like 203.0.113.1:51820"),
            ("[Peer]\nPublicKey = \(k)\nPersistentKeepalive = always\n",
             "wg0.conf:3: PersistentKeepalive \"always\": must be off or seconds 0…65535 (25 is usual behind NAT)"),
            ("[Interface]\nPublicKey = \(k)\n", "wg0.conf:2: PublicKey: belongs in a [Peer] section, not [Interface]"),
            ("[Peer]\nPublicKey = \(k)\nAddress = 192.0.2.1/24\n", "wg0.conf:3: Address: belongs in the [Interface] section, not [Peer]"),
            ("[Interface]\n[Peers]\n", "wg0.conf:2: [Peers]: unknown section: wg-quick knows only [Interface] and [Peer]"),
            ("[Interface]\nListenPort 51820\n", "wg0.conf:2: ListenPort 51820: expected `Key = value` or a section header like [Peer]"),
            ("[Interface]\nPostUp =\n", "wg0.conf:2: PostUp: empty command: remove the line or give a command"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try WGQuickConfig.parse(text), expected) { e in
                XCTAssertEqual((e as? WGConfigError)?.description, expected)
            }
        }
    }

    func testErrorFieldsAndSourceName() {
        XCTAssertThrowsError(try WGQuickConfig.parse("[Interface]\n\nAddress = 192.0.2.0/40\n", source: "/etc/wireguard/wg1.conf")) { e in
            guard let e = e as? WGConfigError else { return XCTFail("\(e)") }
            XCTAssertEqual(e.source, "/etc/wireguard/wg1.conf")
            XCTAssertEqual(e.line, 3)
            XCTAssertEqual(e.key, "Address")
            XCTAssertEqual(e.value, "192.0.2.0/40")
            XCTAssertEqual(e.message, "prefix length must be 0…32")
        }
    }

    func testKeyErrorsDoNotEchoTheKey() {
        let broken = String(WGFixtures.priv.dropLast(2)) + "*="
        XCTAssertThrowsError(try WGQuickConfig.parse("[Interface]\nPrivateKey = \(broken)\n")) { e in
            XCTAssertEqual((e as? WGConfigError)?.line, 2)
            XCTAssertNil((e as? WGConfigError)?.value)
            XCTAssertFalse("\(e)".contains(broken.prefix(20)), "\(e)")
        }
    }
}
