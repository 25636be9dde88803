import Foundation
import WGModel
import WGProvision
import WGProvisionTesting
import XCTest

@testable import WGAgent
@testable import WGHub

let siteGateway = try! WGFileSource().loadProfile("site-gateway")

/// Enrollment against the real hub (in-process, TLS on loopback) on a fake Debian machine.
final class WGEnrollTests: XCTestCase {

    func enroll(_ host: WGFakeHost, _ options: WGEnrollOptions) async throws -> WGEnrollResult {
        let facts = try WGFacts.gather(host)
        return try await blocking { try WGEnroller(host: host, facts: facts).enroll(options) }
    }

    func testEnrollWithPinSavesStateAndTheApplyUsesTheHubsAnswer() async throws {
        let hub = try LiveHub()
        let token = try hub.token()
        let host = fakeDebian()
        try await hub.serve { url in
            let r = try await enroll(host, WGEnrollOptions(hubURL: url, token: token, pin: hub.tls.pin, profile: siteGateway))
            XCTAssertTrue(r.contactedHub)
            XCTAssertEqual(r.keys.status, .changed, "a fresh machine gets a new key")
            let e = r.enrollment
            XCTAssertEqual(e.address, "192.0.2.2/24")
            XCTAssertEqual(e.hubPublicKey, hub.hubKey.base64)
            XCTAssertEqual(e.hubEndpoint, "203.0.113.1:51820")
            XCTAssertEqual(e.pin, hub.tls.pin)
            XCTAssertEqual(e.hostname, "site-a")
            XCTAssertTrue(e.credential.hasPrefix("wgc_") || !e.credential.isEmpty)

            // The key on the machine is the one the hub knows; the hub has our LAN from the facts.
            let priv = try XCTUnwrap(host.text("/etc/wireguard/wg0.key"))
            let pub = try WGKey(base64: priv.trimmingCharacters(in: .whitespacesAndNewlines)).publicKey.base64
            XCTAssertEqual(e.publicKey, pub)
            XCTAssertEqual(host.fileInfo("/etc/wireguard/wg0.key")?.permissions, 0o600)
            let sites = try await hub.store.allSites()
            XCTAssertEqual(sites.count, 1)
            XCTAssertEqual(sites.first?.publicKey, pub)
            XCTAssertEqual(sites.first?.lanSubnets, ["198.51.100.0/24"])
            XCTAssertEqual(sites.first?.hostname, "site-a")
            XCTAssertEqual(sites.first?.os, "debian-12")

            // The enrollment file: 0600 in 0700, and its credential works on /v1/health.
            XCTAssertEqual(host.fileInfo(WGEnrollmentStore.path)?.permissions, 0o600)
            XCTAssertEqual(host.fileInfo(WGEnrollmentStore.directory)?.permissions, 0o700)
            XCTAssertEqual(try WGEnrollmentStore.load(host), e)
            let client = try e.client()
            let ack: WGHealthAck = try await blocking {
                try client.post("/v1/health", WGHealthReport(seq: 1, agentTime: 0, interface: "wg0"), bearer: e.credential)
            }
            XCTAssertTrue(ack.stored)

            // The apply that follows renders wg0.conf from the hub's values.
            let facts = try WGFacts.gather(host)
            let applier = try WGAgentApply.applier(
                host: host, facts: facts, files: WGFileSource(), profile: siteGateway, values: r.applyValues,
                resources: [WGKeysResource(), WGInterfaceConfigResource()])
            let report = applier.run(dryRun: false)
            XCTAssertTrue(report.converged, "\(report.resources.map { "\($0.name) \($0.status) \($0.error ?? "")" })")
            XCTAssertEqual(report.resource("keys")?.status, .ok, "the key is kept by the apply")
            let conf = try XCTUnwrap(host.text("/etc/wireguard/wg0.conf"))
            XCTAssertTrue(conf.contains("Address = 192.0.2.2/24"), conf)
            XCTAssertTrue(conf.contains("PublicKey = \(hub.hubKey.base64)"), conf)
            XCTAssertTrue(conf.contains("Endpoint = 203.0.113.1:51820"), conf)
            XCTAssertTrue(conf.contains("PersistentKeepalive = 25"), conf)
        }
    }

    func testRerunKeepsKeyAndAddressAndDoesNotSpendTheToken() async throws {
        let hub = try LiveHub()
        let token = try hub.token(uses: 1)
        let host = fakeDebian()
        try await hub.serve { url in
            let first = try await enroll(host, WGEnrollOptions(hubURL: url, token: token, pin: hub.tls.pin, profile: siteGateway, vars: ["lan_access=route"]))
            let key = host.text("/etc/wireguard/wg0.key")
            // Same single-use token again: not sent, nothing changes.
            let second = try await enroll(host, WGEnrollOptions(hubURL: url, token: token, pin: hub.tls.pin, profile: siteGateway))
            XCTAssertFalse(second.contactedHub)
            XCTAssertEqual(second.keys.status, .ok)
            XCTAssertEqual(host.text("/etc/wireguard/wg0.key"), key, "the key is never regenerated")
            XCTAssertEqual(second.enrollment.address, first.enrollment.address)
            XCTAssertEqual(second.enrollment.credential, first.enrollment.credential)
            XCTAssertTrue(second.applyValues.contains("lan_access=route"), "values given at the first enroll stay")
            XCTAssertEqual(try hub.store.tokens().first?.uses, 1)

            // --reenroll with a new token: the hub is asked again and keeps the address for this key.
            let another = try hub.token()
            let third = try await enroll(host, WGEnrollOptions(hubURL: url, token: another, pin: hub.tls.pin, profile: siteGateway, reenroll: true))
            XCTAssertTrue(third.contactedHub)
            XCTAssertEqual(third.enrollment.address, first.enrollment.address)
            XCTAssertEqual(third.enrollment.publicKey, first.enrollment.publicKey)
            XCTAssertNotEqual(third.enrollment.credential, first.enrollment.credential, "a new credential replaces the old one")
            XCTAssertEqual(try WGEnrollmentStore.load(host)?.credential, third.enrollment.credential)
            let count = try await hub.store.allSites().count
            XCTAssertEqual(count, 1)
        }
    }

    func testRefusalsSayWhatToDoAndLeaveNoEnrollment() async throws {
        let hub = try LiveHub()
        let token = try hub.token()
        try await hub.serve { url in
            // http:// without --insecure: refused before anything is touched.
            let plain = fakeDebian()
            let e1 = await blockingError { _ = try WGEnroller(host: plain, facts: try WGFacts.gather(plain)).enroll(
                WGEnrollOptions(hubURL: url.replacingOccurrences(of: "https:", with: "http:"), token: token, profile: siteGateway)) }
            XCTAssertEqual(e1 as? WGHTTPClientError, .insecureURL(url.replacingOccurrences(of: "https:", with: "http:")))
            XCTAssertTrue("\(e1!)".contains("https://"), "\(e1!)")
            XCTAssertNil(plain.text("/etc/wireguard/wg0.key"), "nothing touched before the URL is accepted")

            // A wrong pin.
            let host = fakeDebian()
            let wrong = "sha256//" + Data(repeating: 9, count: 32).base64EncodedString()
            let e2 = await blockingError { _ = try WGEnroller(host: host, facts: try WGFacts.gather(host)).enroll(
                WGEnrollOptions(hubURL: url, token: token, pin: wrong, profile: siteGateway)) }
            XCTAssertEqual(e2 as? WGHTTPClientError, .pinMismatch(url: url + "/v1/enroll", pin: wrong))
            XCTAssertTrue("\(e2!)".contains("check the pin printed by `wghub serve`"), "\(e2!)")

            // No pin, no CA file: the self-signed certificate cannot be verified.
            let e3 = await blockingError { _ = try WGEnroller(host: host, facts: try WGFacts.gather(host)).enroll(
                WGEnrollOptions(hubURL: url, token: token, profile: siteGateway)) }
            XCTAssertEqual((e3 as? WGHTTPClientError)?.curlCode, 60, "\(String(describing: e3))")
            XCTAssertTrue("\(e3!)".contains("pass --ca-file"), "\(e3!)")

            // A token the hub does not know.
            let e4 = await blockingError { _ = try WGEnroller(host: host, facts: try WGFacts.gather(host)).enroll(
                WGEnrollOptions(hubURL: url, token: "wgt_" + String(repeating: "A", count: 43), pin: hub.tls.pin, profile: siteGateway)) }
            guard case .tokenRefused(let status, let reason, _, _)? = e4 as? WGEnrollError else { return XCTFail("\(String(describing: e4))") }
            XCTAssertEqual(status, 401)
            XCTAssertEqual(reason, "token_unknown")
            XCTAssertTrue("\(e4!)".contains("wghub token create"), "\(e4!)")
            XCTAssertNil(host.text(WGEnrollmentStore.path), "no enrollment file after refusals")

            // With the CA file it works, and the hub's address is never taken from --var.
            let e5 = await blockingError { _ = try WGEnroller(host: host, facts: try WGFacts.gather(host)).enroll(
                WGEnrollOptions(hubURL: url, token: token, caFile: hub.tls.certificatePath, profile: siteGateway, vars: ["address=192.0.2.9/24"])) }
            XCTAssertEqual(e5 as? WGEnrollError, .hubOwnedVariable("address"))
            let ok = try await enroll(host, WGEnrollOptions(hubURL: url, token: token, caFile: hub.tls.certificatePath, profile: siteGateway))
            XCTAssertEqual(ok.enrollment.caFile, hub.tls.certificatePath)
            XCTAssertEqual(ok.enrollment.verification, .caFile(hub.tls.certificatePath))
        }
    }

    func testInsecureHTTPOnlyWhenAsked() async throws {
        let hub = try LiveHub(insecureHTTP: true)
        let token = try hub.token()
        let host = fakeDebian()
        try await hub.serve { url in
            XCTAssertTrue(url.hasPrefix("http://"))
            let r = try await enroll(host, WGEnrollOptions(hubURL: url, token: token, insecureHTTP: true, profile: siteGateway))
            XCTAssertTrue(r.enrollment.insecureHTTP)
            XCTAssertEqual(r.enrollment.address, "192.0.2.2/24")
        }
    }

    func testHandshakeWaitIsBoundedAndSeesTheFirstHandshake() throws {
        let hubKey = WGKey.generatePrivate().publicKey.base64
        let me = WGKey.generatePrivate()
        let host = fakeDebian()
        var calls = 0
        host.respond(to: ["wg", "show", "wg0", "dump"]) { _ in
            calls += 1
            let hs = calls >= 3 ? 1_700_000_000 : 0
            return WGCommandResult(stdout: "\(me.base64)\t\(me.publicKey.base64)\t51820\toff\n\(hubKey)\t(none)\t203.0.113.1:51820\t192.0.2.0/24\t\(hs)\t10\t20\t25\n")
        }
        var clock = Date(timeIntervalSince1970: 0)
        var w = WGHandshakeWait(host: host)
        w.now = { clock }
        w.sleep = { clock = clock.addingTimeInterval($0) }
        XCTAssertEqual(w.wait(interface: "wg0", peer: hubKey, timeout: 30), .handshake(after: 1.0, endpoint: "203.0.113.1:51820"))

        // Never a handshake: gives up at the bound, saying why.
        let other = WGKey.generatePrivate().publicKey.base64
        clock = Date(timeIntervalSince1970: 0)
        guard case .none(let waited, let problem) = w.wait(interface: "wg0", peer: other, timeout: 5) else { return XCTFail() }
        XCTAssertEqual(waited, 5, accuracy: 0.01)
        XCTAssertEqual(problem, "wg0 has no peer \(other)")
    }
}

extension WGRunReport {
    func resource(_ name: String) -> WGResourceOutcome? { resources.first { $0.name == name } }
}
