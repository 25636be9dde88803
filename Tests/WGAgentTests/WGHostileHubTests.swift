import Foundation
import WGModel
import WGProvision
import WGProvisionTesting
import XCTest

@testable import WGAgent

/// `wgagent enroll` against a hostile hub (a real HTTPS server on loopback, pinned): every bad answer is a refusal
/// (exit 2) naming the field, and nothing is saved — no enrollment file, no wg0.conf, the key as it was.
final class WGHostileHubTests: XCTestCase {
    let hubKey = WGKey.generatePrivate().publicKey.base64

    /// A Debian machine that already has its key (so a refused enroll must leave every file exactly as it was).
    func machineWithKey() -> (WGFakeHost, WGKey) {
        let host = fakeDebian()
        let key = WGKey.generatePrivate()
        host.addDirectory("/etc/wireguard", permissions: 0o700)
        host.addFile("/etc/wireguard/wg0.key", key.base64 + "\n", permissions: 0o600)
        host.addFile("/etc/wireguard/wg0.pub", key.publicKey.base64 + "\n", permissions: 0o644)
        return (host, key)
    }

    func enrollError(_ host: WGFakeHost, _ hub: HostileHub, url: String, profile: WGProfile = siteGateway,
                     timeout: Double = 10) async -> (any Error)? {
        var o = WGEnrollOptions(hubURL: url, token: "wgt_" + String(repeating: "A", count: 43), pin: hub.tls.pin, profile: profile)
        o.timeout = timeout
        let options = o
        return await blockingError { _ = try WGEnroller(host: host, facts: try WGFacts.gather(host)).enroll(options) }
    }

    /// Serves `answer`, enrolls a machine that has its key, and checks the refusal: exit 2, the message names
    /// `field` (and `words`), and the machine's files are exactly as before.
    func assertRefused(_ answer: HostileHub.Answer, field: String, words: [String] = [], profile: WGProfile = siteGateway,
                       hub: HostileHub, url: String, file: StaticString = #filePath, line: UInt = #line) async {
        hub.answer = answer
        let (host, _) = machineWithKey()
        let before = host.files
        let seen = hub.requests
        guard let error = await enrollError(host, hub, url: url, profile: profile) else {
            return XCTFail("enrolled with a hostile answer for \(field)", file: file, line: line)
        }
        let text = "\(error)"
        XCTAssertEqual(hub.requests, seen + 1, "the hub was asked once: \(text)", file: file, line: line)
        XCTAssertEqual(WGEnrollError.exitStatus(for: error), 2, "a refusal, not 'hub not reached': \(text)", file: file, line: line)
        XCTAssertTrue(text.contains(field), "the message names \(field): \(text)", file: file, line: line)
        for w in words { XCTAssertTrue(text.contains(w), "the message says \"\(w)\": \(text)", file: file, line: line) }
        XCTAssertNil(host.text(WGEnrollmentStore.path), "no enrollment file", file: file, line: line)
        XCTAssertNil(host.text("/etc/wireguard/wg0.conf"), "no wg0.conf", file: file, line: line)
        XCTAssertEqual(host.files, before, "no file written, the key unchanged", file: file, line: line)
    }

    func spoiled(_ change: (inout [String: Any]) -> Void) -> HostileHub.Answer {
        var fields = goodAnswer(hubKey: hubKey)
        change(&fields)
        return .json(jsonText(fields))
    }

    func testAGoodAnswerStillEnrolls() async throws {
        let hub = try HostileHub()
        try await hub.serve { url in
            hub.answer = .json(jsonText(goodAnswer(hubKey: hubKey)))
            let (host, key) = machineWithKey()
            let facts = try WGFacts.gather(host)
            let r = try await blocking {
                try WGEnroller(host: host, facts: facts).enroll(WGEnrollOptions(
                    hubURL: url, token: "wgt_" + String(repeating: "A", count: 43), pin: hub.tls.pin, profile: siteGateway))
            }
            XCTAssertEqual(r.enrollment.address, "192.0.2.2/24")
            XCTAssertEqual(r.enrollment.hubPublicKey, hubKey)
            XCTAssertEqual(r.enrollment.siteID, 7)
            XCTAssertEqual(try WGEnrollmentStore.load(host), r.enrollment)
            XCTAssertEqual(host.text("/etc/wireguard/wg0.key"), key.base64 + "\n")
            XCTAssertTrue(r.applyValues.contains("keepalive=25"), "\(r.applyValues)")
        }
    }

    func testHostileAddressesAreRefused() async throws {
        let hub = try HostileHub()
        try await hub.serve { url in
            let cases: [(String, [String])] = [
                ("192.0.2.2/0", ["prefix /0", "/8 to /32"]),
                ("192.0.2.2/1", ["prefix /1"]),
                ("192.0.2.2/7", ["prefix /7"]),
                ("2001:db8::2/16", ["prefix /16", "/32 to /128"]),
                ("192.0.2.1/24", ["the hub's own address"]),
                ("192.0.2.0/24", ["network address"]),
                ("192.0.2.255/24", ["broadcast address"]),
                ("127.0.0.2/8", ["loopback"]),
                ("224.0.0.5/24", ["multicast"]),
                ("198.51.100.7/24", ["overlaps this machine's LAN 198.51.100.0/24"]),
                ("192.0.2.2/33", ["prefix length"]),
                ("not-an-address", ["address"]),
            ]
            for (address, words) in cases {
                await assertRefused(spoiled { $0["address"] = address }, field: "address \"\(address)\"", words: words, hub: hub, url: url)
            }
            // An allowed_ips host entry names the hub's address: the site may not get it.
            await assertRefused(spoiled { $0["address"] = "192.0.2.7/24"; $0["allowed_ips"] = ["192.0.2.0/24", "192.0.2.7/32"] },
                                field: "address \"192.0.2.7/24\"", words: ["the hub's own address"], hub: hub, url: url)
            await assertRefused(spoiled { $0["address"] = "192.0.2.9/24"; $0["allowed_ips"] = ["192.0.2.9/24"] },
                                field: "address \"192.0.2.9/24\"", words: ["the hub's own address"], hub: hub, url: url)
        }
    }

    func testHostileAllowedIPsAreRefusedForASiteGateway() async throws {
        let hub = try HostileHub()
        try await hub.serve { url in
            for bad in [["0.0.0.0/0"], ["192.0.2.0/24", "198.51.100.0/24"], ["192.0.2.0/23"], ["::/0"]] {
                await assertRefused(spoiled { $0["allowed_ips"] = bad }, field: "allowed_ips", words: ["tunnel network 192.0.2.0/24"],
                                    hub: hub, url: url)
            }
            await assertRefused(spoiled { $0["allowed_ips"] = ["192.0.2.0/99"] }, field: "allowed_ips", hub: hub, url: url)
            await assertRefused(spoiled { $0["allowed_ips"] = Array(repeating: "192.0.2.0/24", count: 65) }, field: "allowed_ips",
                                words: ["more than 64"], hub: hub, url: url)
        }
    }

    func testHostileKeepaliveIsRefusedBeforeAnythingIsSaved() async throws {
        let hub = try HostileHub()
        try await hub.serve { url in
            await assertRefused(spoiled { $0["keepalive"] = -1 }, field: "keepalive \"-1\"", words: ["0…65535", "Nothing was saved"],
                                hub: hub, url: url)
            await assertRefused(spoiled { $0["keepalive"] = 100000 }, field: "keepalive \"100000\"", hub: hub, url: url)
            // Not a number: the JSON itself is refused, naming the field.
            await assertRefused(spoiled { $0["keepalive"] = "25; reboot" }, field: "field keepalive", words: ["expected a number"],
                                hub: hub, url: url)
            await assertRefused(spoiled { $0["keepalive"] = 2.5 }, field: "field keepalive", words: ["whole number"], hub: hub, url: url)
            await assertRefused(spoiled { $0.removeValue(forKey: "keepalive") }, field: "field keepalive", words: ["missing"],
                                hub: hub, url: url)
        }
    }

    func testHostileKeysAndEndpointsAreRefused() async throws {
        let hub = try HostileHub()
        try await hub.serve { url in
            let zero = Data(repeating: 0, count: 32).base64EncodedString()
            await assertRefused(spoiled { $0["hub_public_key"] = zero }, field: "hub_public_key", words: ["low-order"], hub: hub, url: url)
            // A point of order 8 (libsodium's blocklist), with the top bit set as an attacker might.
            var order8: [UInt8] = [0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
                                   0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00]
            order8[31] |= 0x80
            await assertRefused(spoiled { $0["hub_public_key"] = Data(order8).base64EncodedString() }, field: "hub_public_key",
                                words: ["low-order"], hub: hub, url: url)
            await assertRefused(spoiled { $0["hub_public_key"] = "AAAA" }, field: "hub_public_key", words: ["44 base64"], hub: hub, url: url)

            // The machine's own key as the hub's.
            let (host, key) = machineWithKey()
            hub.answer = spoiled { $0["hub_public_key"] = key.publicKey.base64 }
            let e = await enrollError(host, hub, url: url)
            XCTAssertTrue("\(e.map { "\($0)" } ?? "enrolled")".contains("this machine's own public key"), "\(String(describing: e))")
            XCTAssertNil(host.text(WGEnrollmentStore.path))

            for (endpoint, words) in [("203.0.113.1", ["HOST:PORT"]), ("203.0.113.1:0", ["port"]), ("0.0.0.0:51820", ["unspecified"]),
                                      ("192.0.2.1:51820", ["inside the tunnel network"]), ("224.0.0.1:51820", ["multicast"]),
                                      ("hub.example.net:51820\nPostUp = reboot", ["HOST:PORT"]), ("[2001:db8::1:51820", ["`]`"])] {
                await assertRefused(spoiled { $0["hub_endpoint"] = endpoint }, field: "hub_endpoint", words: words, hub: hub, url: url)
            }
            await assertRefused(spoiled { $0["credential"] = "wgc_x\nX-Injected: 1" }, field: "credential", hub: hub, url: url)
            await assertRefused(spoiled { $0["site_id"] = -3 }, field: "site_id", hub: hub, url: url)
        }
    }

    func testAnOversizedAnswerIsARefusalNamingTheLimit() async throws {
        let hub = try HostileHub()
        try await hub.serve { url in
            for chunked in [false, true] {
                await assertRefused(.large(bytes: 5 << 20, chunked: chunked), field: "larger than 64 KiB",
                                    words: ["/v1/enroll", "check that the URL and pin are your hub's"], hub: hub, url: url)
            }
            // Just under the limit is read (and then refused as JSON, not as a size).
            hub.answer = .large(bytes: WGEnrollOptions.maxAnswerBytes - 1, chunked: true)
            let (host, _) = machineWithKey()
            let e = await enrollError(host, hub, url: url)
            guard case .decoding? = e as? WGHTTPClientError else { return XCTFail("\(String(describing: e))") }
        }
    }

    func testASlowDripIsCutOffAtTheTimeoutAndSavesNothing() async throws {
        let hub = try HostileHub()
        try await hub.serve { url in
            hub.answer = .drip(jsonText(goodAnswer(hubKey: hubKey)), every: 0.2)
            let (host, _) = machineWithKey()
            let before = host.files
            let start = Date()
            let e = await enrollError(host, hub, url: url, timeout: 2)
            let took = Date().timeIntervalSince(start)
            guard case .timedOut? = e as? WGHTTPClientError else { return XCTFail("\(String(describing: e))") }
            XCTAssertEqual(WGEnrollError.exitStatus(for: e!), 4, "a timeout may be a slow path: worth a retry, bounded each time")
            XCTAssertLessThan(took, 6, "bounded by the enroll timeout (2 s)")
            XCTAssertGreaterThan(took, 1.5)
            XCTAssertEqual(host.files, before, "nothing saved")
        }
    }

    func testTheProfilesPrefixRuleWins() async throws {
        let hub = try HostileHub()
        let text = siteGateway.text.replacingOccurrences(
            of: "    help: this site's tunnel address with the tunnel prefix, e.g. 192.0.2.2/24\n",
            with: "    help: this site's tunnel address with the tunnel prefix, e.g. 192.0.2.2/24\n    prefix: 24-30\n")
        XCTAssertNotEqual(text, siteGateway.text, "the profile's address declaration was found")
        let strict = try WGProfile.parse(text, name: "strict", source: "strict.yaml")
        XCTAssertEqual(strict.variable("address")?.prefix, 24...30)
        try await hub.serve { url in
            await assertRefused(spoiled { $0["address"] = "192.0.2.2/16"; $0["allowed_ips"] = ["192.0.0.0/16"] },
                                field: "address \"192.0.2.2/16\"", words: ["/24 to /30"], profile: strict, hub: hub, url: url)
            // The default rule would take /16.
            hub.answer = spoiled { $0["address"] = "192.0.2.2/16"; $0["allowed_ips"] = ["192.0.0.0/16"] }
            let (host, _) = machineWithKey()
            let e = await enrollError(host, hub, url: url)
            XCTAssertNil(e, "\(String(describing: e))")
        }
        // The profile's rule holds for --var too.
        XCTAssertThrowsError(try WGVariables.resolve(profile: strict, varsFiles: [], vars: [
            "address=192.0.2.2/16", "hub_endpoint=203.0.113.1:51820", "hub_public_key=\(hubKey)"])) {
            XCTAssertTrue("\($0)".contains("/24 to /30"), "\($0)")
        }
        XCTAssertThrowsError(try WGProfile.parse(text.replacingOccurrences(of: "prefix: 24-30", with: "prefix: 30-24"), name: "x", source: "x.yaml"))
    }

    func testARoadwarriorTakesAFullTunnelAllowedIPs() async throws {
        let hub = try HostileHub()
        let roadwarrior = try WGFileSource().loadProfile("roadwarrior")
        try await hub.serve { url in
            hub.answer = spoiled { $0["allowed_ips"] = ["0.0.0.0/0", "::/0"] }
            let (host, _) = machineWithKey()
            let e = await enrollError(host, hub, url: url, profile: roadwarrior)
            XCTAssertNil(e, "a full tunnel is what a road warrior has anyway: \(String(describing: e))")
            XCTAssertNotNil(host.text(WGEnrollmentStore.path))
            // …but its address is held to the same rule.
            await assertRefused(spoiled { $0["address"] = "192.0.2.2/0" }, field: "address", profile: roadwarrior, hub: hub, url: url)
        }
    }
}
