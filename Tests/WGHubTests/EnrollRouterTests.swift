import Foundation
import HummingbirdTesting
import NIOCore
import WGModel
import XCTest

@testable import WGHub

final class EnrollRouterTests: XCTestCase {
    func testEnrollAllocatesAddressAndAddsPeer() async throws {
        let t = try TestHub()
        let token = try t.token(lan: ["198.51.100.0/22"])
        let key = newPublicKey()
        try await t.app().test(.router) { client in
            let r = try await client.postJSON("/v1/enroll", enrollBody(token: token, key: key, lan: ["198.51.100.0/24"]))
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let answer = try decodeJSON(WGEnrollResponse.self, r.body)
            XCTAssertEqual(answer.address, "192.0.2.2/24")
            XCTAssertEqual(answer.hubPublicKey, t.wg.hubKey.publicKey.base64)
            XCTAssertEqual(answer.hubEndpoint, "203.0.113.1:51820")
            XCTAssertEqual(answer.allowedIPs, ["192.0.2.0/24"])
            XCTAssertEqual(answer.keepalive, 25)
            XCTAssertTrue(answer.credential.hasPrefix("wgc_"))
            // The body really is snake_case.
            let raw = String(buffer: r.body)
            for k in ["\"hub_public_key\"", "\"hub_endpoint\"", "\"allowed_ips\"", "\"observed_address\"", "\"credential\""] {
                XCTAssertTrue(raw.contains(k), "missing \(k) in \(raw)")
            }
        }
        XCTAssertEqual(t.wg.peers[key], ["192.0.2.2/32", "198.51.100.0/24"])
        XCTAssertEqual(t.wg.routes, ["198.51.100.0/24"])
        // Stored hashed: neither the token nor the credential appears in the database file.
        let sites = try await t.store.allSites()
        XCTAssertEqual(sites.count, 1)
        XCTAssertEqual(sites[0].profile, "site-gateway")
        XCTAssertEqual(t.hub.metrics.value("wghub_enrollments_total"), 1)
    }

    /// A site whose LAN holds the address it enrolled from (the hub reaches it over that LAN) keeps that LAN
    /// out of the tunnel: routing it through wg0 would cut the hub off from the site.
    func testLANHoldingTheSourceAddressIsNotRouted() async throws {
        let t = try TestHub()
        let token = try t.token(lan: ["198.51.100.0/24", "203.0.113.0/24"])
        let e = try await t.hub.enroll(enrollBody(token: token, lan: ["198.51.100.0/24", "203.0.113.0/24"]), from: "198.51.100.2")
        XCTAssertEqual(t.wg.routes, ["203.0.113.0/24"])
        let site = try await t.store.site(id: e.siteID!)
        XCTAssertEqual(site?.lanSubnets, ["198.51.100.0/24", "203.0.113.0/24"], "announced prefixes are kept, to show them")
        XCTAssertEqual(t.wg.peers.values.first, ["\(e.address.split(separator: "/")[0])/32", "203.0.113.0/24"])
        let lan = try await t.hub.view(id: e.siteID!).lan
        XCTAssertEqual(lan.map(\.state), [.refused, .routed])
        XCTAssertTrue(lan[0].reason?.contains("the address the hub reaches this site at") == true, "\(lan)")
    }

    func testSameKeyKeepsAddressAndGetsNewCredential() async throws {
        let t = try TestHub()
        let token = try t.token(uses: 5)
        let key = newPublicKey()
        try await t.app().test(.router) { client in
            let first = try decodeJSON(WGEnrollResponse.self, try await client.postJSON("/v1/enroll", enrollBody(token: token)).body)
            let other = try decodeJSON(WGEnrollResponse.self, try await client.postJSON("/v1/enroll", enrollBody(token: token, key: key, hostname: "b")).body)
            // In use before the re-enrollment (so the hub holds it in memory).
            await AssertEqual(try await client.postJSON("/v1/health", WGHealthReport(seq: 1, agentTime: 1, interface: "wg0"), bearer: other.credential).status, .ok)
            // A token alone never re-enrolls a key that is enrolled: public keys are public.
            let takeover = try await client.postJSON("/v1/enroll", enrollBody(token: token, key: key, hostname: "evil", lan: ["203.0.113.0/24"]))
            XCTAssertEqual(takeover.status, .conflict)
            XCTAssertTrue(String(buffer: takeover.body).contains("public_key_enrolled"))
            let wrong = try await client.postJSON("/v1/enroll", enrollBody(token: token, key: key, hostname: "evil"), bearer: first.credential)
            XCTAssertEqual(wrong.status, .conflict, "another site's credential does not prove this key")
            let kept = try await t.store.site(id: other.siteID!)
            XCTAssertEqual(kept?.hostname, "b")
            XCTAssertEqual(kept?.lanSubnets, [])
            await AssertEqual(try await client.postJSON("/v1/health", WGHealthReport(seq: 2, agentTime: 1, interface: "wg0"), bearer: other.credential).status, .ok)
            // The site itself, with its credential, re-enrolls without using the token.
            let usesBefore = try t.store.tokens().first?.uses
            let again = try await client.postJSON("/v1/enroll", enrollBody(token: "", key: key, hostname: "b2", lan: ["203.0.113.128/25"]), bearer: other.credential)
            XCTAssertEqual(again.status, .ok)
            XCTAssertEqual(try t.store.tokens().first?.uses, usesBefore, "no token use taken")
            let a2 = try decodeJSON(WGEnrollResponse.self, again.body)
            XCTAssertEqual(other.address, a2.address)
            XCTAssertNotEqual(first.address, a2.address)
            XCTAssertNotEqual(other.credential, a2.credential)
            // The old credential no longer works, the new one does.
            let old = try await client.postJSON("/v1/health", WGHealthReport(seq: 1, agentTime: 1, interface: "wg0"), bearer: other.credential)
            XCTAssertEqual(old.status, .unauthorized)
            let new = try await client.postJSON("/v1/health", WGHealthReport(seq: 3, agentTime: 1, interface: "wg0"), bearer: a2.credential)
            XCTAssertEqual(new.status, .ok)
        }
        await AssertEqual(try await t.store.allSites().count, 2)
        // Announced but never granted (the token had no --lan): not routed.
        XCTAssertEqual(t.wg.peers[key], ["192.0.2.3/32"])
    }

    func testTokenRefusalsStoreNothingAndTakeNoAddress() async throws {
        let t = try TestHub()
        let expired = try t.store.createToken(kind: .enroll, ttl: 60, maxUses: 1, now: Date().addingTimeInterval(-3600)).secret
        let revoked = try t.store.createToken(kind: .enroll, ttl: 3600, maxUses: 1)
        try t.store.revokeToken(id: revoked.id)
        let used = try t.token(uses: 1)
        let admin = try t.admin()
        let cases: [(String, Int, String)] = [
            ("wgt_doesnotexistdoesnotexist", 401, "token_unknown"),
            (expired, 403, "token_expired"),
            (revoked.secret, 403, "token_revoked"),
            (admin, 401, "token_unknown"),  // an admin token does not enroll
            ("", 401, "token_missing"),
        ]
        try await t.app().test(.router) { client in
            let ok = try await client.postJSON("/v1/enroll", enrollBody(token: used))
            XCTAssertEqual(ok.status, .ok)
            var all = cases
            all.append((used, 403, "token_used_up"))
            for (token, status, reason) in all {
                let r = try await client.postJSON("/v1/enroll", enrollBody(token: token))
                XCTAssertEqual(Int(r.status.code), status, "token case \(reason)")
                let body = try decodeJSON(WGErrorBody.self, r.body)
                XCTAssertEqual(body.error, reason)
                XCTAssertFalse(body.message.isEmpty)
                XCTAssertFalse(String(buffer: r.body).contains(token.isEmpty ? "\u{0}" : token), "the secret must not be echoed")
            }
        }
        let sites = try await t.store.allSites()
        XCTAssertEqual(sites.count, 1, "only the one good enrollment is stored")
        XCTAssertEqual(t.wg.peers.count, 1)
        XCTAssertEqual(t.hub.metrics.refusals("token_unknown"), 2)
        XCTAssertEqual(t.hub.metrics.refusals("token_used_up"), 1)
        // No address was taken by the refusals: the next site gets .3.
        let next = try await t.hub.enroll(enrollBody(token: try t.token()), from: nil)
        XCTAssertEqual(next.address, "192.0.2.3/24")
    }

    func testInvalidFieldsAreNamed() async throws {
        let t = try TestHub { $0.enrollFailureLimit = 100 }
        let token = try t.token(uses: 100)
        let cases: [(WGEnrollRequest, String)] = [
            (enrollBody(token: token, key: "not-a-key"), "public_key"),
            (enrollBody(token: token, hostname: "bad host!"), "hostname"),
            (enrollBody(token: token, hostname: ""), "hostname"),
            (enrollBody(token: token, port: 0), "listen_port"),
            (enrollBody(token: token, port: 70000), "listen_port"),
            (enrollBody(token: token, lan: ["198.51.100.0/33"]), "lan_subnets[0]"),
            (enrollBody(token: token, lan: ["198.51.100.0/24", "198.51.100.1/24"]), "lan_subnets[1]"),
            (enrollBody(token: token, lan: ["192.0.2.0/25"]), "lan_subnets[0]"),  // overlaps the pool
            (enrollBody(token: token, lan: ["0.0.0.0/0"]), "lan_subnets[0]"),
        ]
        try await t.app().test(.router) { client in
            for (body, field) in cases {
                let r = try await client.postJSON("/v1/enroll", body)
                XCTAssertEqual(r.status, .badRequest, "\(field): \(String(buffer: r.body))")
                let e = try decodeJSON(WGErrorBody.self, r.body)
                XCTAssertEqual(e.error, "invalid_field")
                XCTAssertEqual(e.field, field)
                XCTAssertTrue(e.message.hasPrefix(field), e.message)
            }
            // Missing and mistyped JSON fields are named too.
            let missing = try await client.execute(
                uri: "/v1/enroll", method: .post, body: ByteBuffer(string: #"{"token":"x","hostname":"a","listen_port":1}"#))
            XCTAssertEqual(missing.status, .badRequest)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, missing.body).field, "public_key")
            let mistyped = try await client.execute(
                uri: "/v1/enroll", method: .post,
                body: ByteBuffer(string: #"{"token":"x","public_key":"k","hostname":"a","listen_port":"51820"}"#))
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, mistyped.body).field, "listen_port")
            let garbage = try await client.execute(uri: "/v1/enroll", method: .post, body: ByteBuffer(string: "{{{"))
            XCTAssertEqual(garbage.status, .badRequest)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, garbage.body).error, "invalid_json")
        }
        await AssertEqual(try await t.store.allSites().count, 0)
        XCTAssertEqual(t.hub.metrics.refusals("invalid_field"), 11)
    }

    func testBodyOverLimitIs413() async throws {
        let t = try TestHub { $0.maxBodyBytes = 1024 }
        try await t.app().test(.router) { client in
            let big = enrollBody(token: try t.token(), hostname: String(repeating: "a", count: 2000))
            let r = try await client.postJSON("/v1/enroll", big)
            XCTAssertEqual(r.status, .contentTooLarge)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, r.body).error, "body_too_large")
            let h = try await client.postJSON("/v1/health", WGHealthReport(seq: 1, agentTime: 0, interface: String(repeating: "x", count: 3000)), bearer: "wgc_whatever_whatever")
            XCTAssertEqual(h.status, .unauthorized, "credentials are checked before the body is read")
        }
        XCTAssertEqual(t.hub.metrics.refusals("body_too_large"), 1)
        await AssertEqual(try await t.store.allSites().count, 0)
    }

    func testFailedEnrollmentsAreRateLimitedPerAddress() async throws {
        let t = try TestHub { $0.enrollFailureLimit = 3 }
        let good = try t.token()
        try await t.app().test(.router) { client in
            for _ in 0..<3 {
                let r = try await client.postJSON("/v1/enroll", enrollBody(token: "wgt_wrongwrongwrong"))
                XCTAssertEqual(r.status, .unauthorized)
            }
            // Now even a good token is refused from this address, and nothing is stored.
            let r = try await client.postJSON("/v1/enroll", enrollBody(token: good))
            XCTAssertEqual(r.status, .tooManyRequests)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, r.body).error, "rate_limited")
            XCTAssertNotNil(r.headers[.retryAfter])
        }
        await AssertEqual(try await t.store.allSites().count, 0)
        // Another address is not affected.
        let other = try await t.hub.enroll(enrollBody(token: good), from: "198.51.100.7")
        XCTAssertEqual(other.observedAddress, "198.51.100.7")
        XCTAssertEqual(t.hub.metrics.refusals("rate_limited"), 1)
    }

    func testPoolFullIsClear() async throws {
        let t = try TestHub { $0.pool = try! WGAddressPool("192.0.2.0/30") }  // .1 hub, .2 the only site address
        let token = try t.token(uses: 3)
        _ = try await t.hub.enroll(enrollBody(token: token), from: nil)
        do {
            _ = try await t.hub.enroll(enrollBody(token: token), from: nil)
            XCTFail("expected pool_full")
        } catch let e as WGHubError {
            XCTAssertEqual(e.status, 409)
            XCTAssertEqual(e.reason, "pool_full")
            XCTAssertTrue(e.body.message.contains("--pool"))
        }
        XCTAssertEqual(try t.store.tokens().first?.uses, 1, "a refused enrollment uses nothing")
    }

    func testFailedInterfaceChangeRollsBack() async throws {
        let wg = FakeWireGuard()
        let t = try TestHub(wg: wg)
        wg.failSetPeer = true
        let token = try t.token()
        do {
            _ = try await t.hub.enroll(enrollBody(token: token), from: nil)
            XCTFail("expected an error")
        } catch {}
        await AssertEqual(try await t.store.allSites().count, 0)
        XCTAssertEqual(try t.store.tokens().first?.uses, 0)
        wg.failSetPeer = false
        let ok = try await t.hub.enroll(enrollBody(token: token), from: nil)
        XCTAssertEqual(ok.address, "192.0.2.2/24")
    }
}
