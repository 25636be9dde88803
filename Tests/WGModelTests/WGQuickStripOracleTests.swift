import Foundation
import XCTest
@testable import WGModel

/// `stripped()` against the real `wg-quick strip`, and both through `wg setconf` / `wg showconf`.
final class WGQuickStripOracleTests: XCTestCase {
    static let configs: [String] = [
        WGFixtures.full,
        "[Interface]\nPrivateKey = \(WGFixtures.priv)\n",
        "[Interface]\nAddress = 192.0.2.1/24\nPostUp = echo up # not part of the command\n",
        """
        [INTERFACE]
        ListenPort = 51820
        fwmark = 42
        mtu = 1280
        table = 1234
        saveconfig = true
        dns = 2001:db8::53, lan

        [Peer]
        PublicKey = \(WGFixtures.peer1)
        AllowedIPs = 0.0.0.0/0, ::/0
        PersistentKeepalive = 25
        """,
        """
        [Interface]
        PrivateKey = \(WGFixtures.priv)
        [Peer]
        # alice
        PublicKey = \(WGFixtures.peer1)
        AllowedIPs = 198.51.100.0/24
        AllowedIPs = 2001:db8:1::/48
        Endpoint = 203.0.113.10:51820
        [Peer]
        PublicKey = \(WGFixtures.peer2)
        PresharedKey = \(WGFixtures.psk)
        AllowedIPs = 192.0.2.128/25
        PersistentKeepalive = 0
        """,
        """
        [Interface]
        PrivateKey = \(WGFixtures.priv)
        Address = 2001:db8::1/64
        PreUp = echo a
        PreDown = echo b
        PostDown = echo c
        [Peer]
        PublicKey = \(WGFixtures.peer1)
        Endpoint = [2001:db8::7]:443
        AllowedIPs = 2001:db8::7/128
        """,
    ]

    /// Meaning of a setconf file, independent of WGModel: per section, keys (lower case) and their
    /// values with whitespace and comments dropped, list keys merged, "off"/0 keepalive dropped.
    static func meaning(_ text: String) -> [String] {
        var sections: [(String, [String: [String]])] = []
        for raw in text.split(separator: "\n") {
            let line = String((raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").filter { !$0.isWhitespace })
            if line.isEmpty { continue }
            if line.hasPrefix("[") { sections.append((line.lowercased(), [:])); continue }
            let kv = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = kv[0].lowercased(), value = kv.count > 1 ? String(kv[1]) : ""
            if key == "persistentkeepalive" && (value.lowercased() == "off" || value == "0") { continue }
            if sections.isEmpty { sections.append(("(none)", [:])) }
            sections[sections.count - 1].1[key, default: []] += value.split(separator: ",").map(String.init)
        }
        return sections.map { header, keys in
            ([header] + keys.keys.sorted().map { "\($0)=\(keys[$0]!.joined(separator: ","))" }).joined(separator: " ")
        }
    }

    func testStrippedMatchesWgQuickStrip() throws {
        let tools = try WGTestEnv.require(["wg-quick"])
        let dir = try WGTestEnv.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (n, text) in Self.configs.enumerated() {
            let path = try writePrivate(text, dir, "wgtest\(n).conf")
            let real = try WGRun.run([tools["wg-quick"]!, "strip", path])
            XCTAssertEqual(real.status, 0, "wg-quick strip: \(real.stderr)")
            XCTAssertFalse(real.stderr.contains("world accessible"), real.stderr)
            let ours = try WGQuickConfig.parse(text, source: path).stripped()
            XCTAssertEqual(Self.meaning(ours), Self.meaning(real.stdout), "config #\(n)\n--- ours\n\(ours)--- wg-quick strip\n\(real.stdout)")
            XCTAssertFalse(Self.meaning(ours).isEmpty)
        }
    }

    /// The strongest oracle: load both outputs into a real interface and compare `wg showconf`.
    func testStrippedLoadsLikeWgQuickStripIntoRealInterface() throws {
        let tools = try WGTestEnv.require(["wg", "wg-quick", "ip", "wireguard-go"], root: true)
        let wg = tools["wg"]!
        let name = "wgm\(getpid())s"
        let dir = try WGTestEnv.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ns = try WGNetns(name: name, tools: tools)
        defer { ns.destroy() }
        try ns.up(config: try writePrivate("[Interface]\nPrivateKey = \(WGFixtures.priv)\n", dir, "\(name).conf"), interface: name)
        // Host-name endpoints would need DNS: only configs with literal endpoints go through setconf.
        for (n, text) in Self.configs.enumerated() where !text.contains("example.com:") {
            let path = try writePrivate(text, dir, "wgtest\(n).conf")
            let real = try WGRun.must([tools["wg-quick"]!, "strip", path])
            let ours = try WGQuickConfig.parse(text).stripped()
            try ns.exec([wg, "setconf", name, try writePrivate(real, dir, "real\(n).conf")])
            let fromReal = try ns.exec([wg, "showconf", name])
            try ns.exec([wg, "setconf", name, try writePrivate(ours, dir, "ours\(n).conf")])
            let fromOurs = try ns.exec([wg, "showconf", name])
            // Without ListenPort the kernel picks a random port on each setconf: compare without it then.
            let keepPort = ours.contains("ListenPort =")
            func canon(_ s: String) -> String {
                s.split(separator: "\n", omittingEmptySubsequences: false).filter { keepPort || !$0.hasPrefix("ListenPort = ") }.joined(separator: "\n")
            }
            XCTAssertEqual(canon(fromOurs), canon(fromReal), "config #\(n)")
            XCTAssertTrue(fromOurs.contains("[Interface]"))
        }
    }
}
