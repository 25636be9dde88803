import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import WGModel
import XCTest

@testable import WGHub

func form(_ fields: [String: String]) -> ByteBuffer {
    var c = URLComponents()
    c.queryItems = fields.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
    // Forms encode spaces as + and + as %2B; URLComponents leaves + alone.
    return ByteBuffer(string: (c.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B"))
}

func post(_ client: some TestClientProtocol, _ uri: String, _ fields: [String: String], cookie: String? = nil,
          extra: HTTPFields = [:]) async throws -> TestResponse {
    var h: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
    if let cookie { h[.cookie] = cookie }
    for f in extra { h.append(f) }
    return try await client.execute(uri: uri, method: .post, headers: h, body: form(fields))
}

/// Signs in; returns the Cookie header value and the session's CSRF token (read off the tokens page).
func signIn(_ client: some TestClientProtocol, _ t: TestHub, admin: String) async throws -> (cookie: String, csrf: String) {
    let r = try await post(client, "/signin", ["token": admin, "next": "/tokens"])
    XCTAssertEqual(r.status, .seeOther)
    XCTAssertEqual(r.headers[.location], "/tokens")
    let set = try XCTUnwrap(r.headers[.setCookie])
    let cookie = String(set.prefix { $0 != ";" })
    let page = try await client.execute(uri: "/tokens", method: .get, headers: [.cookie: cookie])
    XCTAssertEqual(page.status, .ok)
    let html = String(buffer: page.body)
    let csrf = try XCTUnwrap(html.range(of: #"name="csrf" value="[^"]+""#, options: .regularExpression)
        .map { String(html[$0].dropFirst(19).dropLast()) })
    return (cookie, csrf)
}


/// The browser's sign-in, session and forms through the router: what an attacker would try (no CSRF token, a
/// foreign one, another origin, a revoked admin token, an open redirect) and the token admin API that shares the code.
final class BrowserSessionTests: XCTestCase {
    func testSignInSetsAStrictSessionCookieAndPagesNeedIt() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            // Anonymous browsers are sent to sign in (the table and a site page); /metrics stays a plain 401.
            let anon = try await client.get("/")
            XCTAssertEqual(anon.status, .seeOther)
            XCTAssertEqual(anon.headers[.location], "/signin?next=%2F")
            await AssertEqual(try await client.get("/metrics").status, .unauthorized)
            await AssertEqual(try await client.get("/tokens").headers[.location], "/signin?next=%2Ftokens")

            let bad = try await post(client, "/signin", ["token": "wga_wrong_wrong_wrong_wrong_wrong_wrong_wrong_wr"])
            XCTAssertEqual(bad.status, .forbidden)
            XCTAssertNil(bad.headers[.setCookie], "no session for a wrong token")
            XCTAssertTrue(String(buffer: bad.body).contains("not a valid admin token"))

            let r = try await post(client, "/signin", ["token": admin, "next": "//evil.example/x"])
            XCTAssertEqual(r.headers[.location], "/", "no open redirect to another host")
            let set = try XCTUnwrap(r.headers[.setCookie])
            XCTAssertTrue(set.hasPrefix("__Host-wghub_session=wgs_"), set)
            for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
                XCTAssertTrue(set.contains(attr), "\(attr) missing: \(set)")
            }
            XCTAssertFalse(set.contains("Domain"), set)
            let cookie = String(set.prefix { $0 != ";" })
            let page = try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie])
            XCTAssertEqual(page.status, .ok)
            XCTAssertTrue(page.headers[.contentSecurityPolicy]?.contains("script-src 'none'") == true, "\(page.headers)")
            XCTAssertTrue(String(buffer: page.body).contains("Sign out"))
            await AssertEqual(try await client.execute(uri: "/metrics", method: .get, headers: [.cookie: cookie]).status, .ok)
            // A made-up session is nobody.
            await AssertEqual(try await client.execute(uri: "/", method: .get, headers: [.cookie: "__Host-wghub_session=wgs_forged"]).status, .seeOther)
        }
    }

    func testFormsNeedTheSessionsCSRFTokenAndTheSameOrigin() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            let (cookie, csrf) = try await signIn(client, t, admin: admin)
            let other = try await signIn(client, t, admin: admin)
            let fields = ["name": "shop", "ttl": "1h", "uses": "2"]

            await AssertEqual(try await post(client, "/tokens", fields, cookie: cookie).status, .forbidden, "no CSRF token")
            await AssertEqual(try await post(client, "/tokens", fields.merging(["csrf": other.csrf]) { a, _ in a }, cookie: cookie).status,
                              .forbidden, "another session's CSRF token")
            await AssertEqual(try await post(client, "/tokens", fields.merging(["csrf": csrf]) { a, _ in a },
                                             extra: [:]).headers[.location], "/signin", "no cookie: sign in")
            await AssertEqual(try await post(client, "/tokens", fields.merging(["csrf": csrf]) { a, _ in a }, cookie: cookie,
                                             extra: [.origin: "https://evil.example"]).status, .forbidden, "another origin")
            await AssertEqual(try await post(client, "/tokens", fields.merging(["csrf": csrf]) { a, _ in a }, cookie: cookie,
                                             extra: [HTTPFields.Element.Name("Sec-Fetch-Site")!: "cross-site"]).status, .forbidden, "cross-site fetch")
            XCTAssertEqual(try t.store.tokens().filter { $0.kind == .enroll }.count, 0, "none of those made a token")
            XCTAssertEqual(t.hub.metrics.value("wghub_csrf_refused_total"), 2)

            let made = try await post(client, "/tokens", fields.merging(["csrf": csrf]) { a, _ in a }, cookie: cookie)
            XCTAssertEqual(made.status, .ok)
            let html = String(buffer: made.body)
            XCTAssertTrue(html.contains("wgagent enroll --hub"), html)
            XCTAssertTrue(html.contains("#cloud-config"))
            let nonce = try XCTUnwrap(made.headers[.contentSecurityPolicy]?.range(of: #"'nonce-[A-Za-z0-9_-]+'"#, options: .regularExpression))
            XCTAssertTrue(html.contains("<script nonce=\"\(made.headers[.contentSecurityPolicy]![nonce].dropFirst(7).dropLast())\">"))
            let tokens = try t.store.tokens().filter { $0.kind == .enroll }
            XCTAssertEqual(tokens.count, 1)
            XCTAssertEqual(tokens[0].name, "shop")
            XCTAssertEqual(tokens[0].maxUses, 2)

            // A refused field is named on the page, and nothing is made.
            let wrong = try await post(client, "/tokens", ["csrf": csrf, "ttl": "forever"], cookie: cookie)
            XCTAssertEqual(wrong.status, .badRequest)
            XCTAssertTrue(String(buffer: wrong.body).contains("ttl: &quot;forever&quot; is not a duration"), String(buffer: wrong.body))
            XCTAssertEqual(try t.store.tokens().filter { $0.kind == .enroll }.count, 1)

            // Sign-out ends the session at once.
            await AssertEqual(try await post(client, "/signout", ["csrf": csrf], cookie: cookie).headers[.location], "/signin")
            await AssertEqual(try await client.execute(uri: "/tokens", method: .get, headers: [.cookie: cookie]).status, .seeOther)
        }
    }

    func testGuessingAdminTokensAtSignInIsThrottledLikeABearer() async throws {
        let t = try TestHub { $0.authFailureLimit = 3 }
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            for i in 0..<3 {
                await AssertEqual(try await post(client, "/signin", ["token": "wga_guess\(i)_guess_guess_guess_guess_guess_guess_g"]).status, .forbidden)
            }
            let limited = try await post(client, "/signin", ["token": "wga_guess9_guess_guess_guess_guess_guess_guess_g"])
            XCTAssertEqual(limited.status, .tooManyRequests, "the source is throttled: a further guess gets 429")
            XCTAssertNil(limited.headers[.setCookie])
            XCTAssertTrue(String(buffer: limited.body).contains("Too many refused tokens"))
            XCTAssertEqual(t.hub.sessions.count, 0)
            // Issue #17: the right token is never locked out by the wrong ones sent from its address.
            await AssertEqual(try await post(client, "/signin", ["token": admin]).status, .seeOther)
        }
    }

    func testASessionEndsWithItsAdminToken() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            let (cookie, _) = try await signIn(client, t, admin: admin)
            await AssertEqual(try await client.execute(uri: "/tokens", method: .get, headers: [.cookie: cookie]).status, .ok)
            let id = try XCTUnwrap(try t.store.tokens().first { $0.kind == .admin }?.id)
            try WGTokenAdmin.revoke(store: t.store, id: id)  // as `wghub token revoke` does
            await AssertEqual(try await client.execute(uri: "/tokens", method: .get, headers: [.cookie: cookie]).status, .seeOther)
            XCTAssertEqual(t.hub.sessions.count, 0)
        }
    }

    func testSessionsExpireAndAreBounded() {
        let s = WGSessions(idleTimeout: 60, maxAge: 300, capacity: 3)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let a = s.create(adminTokenID: "adm_1", now: t0).cookie
        XCTAssertNotNil(s.session(a, now: t0.addingTimeInterval(59)))
        XCTAssertNotNil(s.session(a, now: t0.addingTimeInterval(110)), "use restarts the idle clock")
        XCTAssertNil(s.session(a, now: t0.addingTimeInterval(171)), "idle too long")
        let b = s.create(adminTokenID: "adm_1", now: t0).cookie
        for i in 1...5 { _ = s.session(b, now: t0.addingTimeInterval(Double(i) * 50)) }
        XCTAssertNil(s.session(b, now: t0.addingTimeInterval(301)), "older than maxAge, however used")
        let c = (0..<4).map { s.create(adminTokenID: "adm_\($0)", now: t0.addingTimeInterval(Double($0))).cookie }
        XCTAssertEqual(s.count, 3, "bounded")
        XCTAssertNil(s.session(c[0], now: t0.addingTimeInterval(5)), "the least recently used went first")
        XCTAssertNotNil(s.session(c[3], now: t0.addingTimeInterval(5)))
        XCTAssertNil(s.session("not-a-session", now: t0))
        XCTAssertNotEqual(c[1], c[2])
    }

    func testTokenAdminAPISharesTheCLIsChecks() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            await AssertEqual(try await client.postJSON("/v1/tokens", WGTokenRequest(name: "x")).status, .unauthorized)
            let r = try await client.postJSON("/v1/tokens", WGTokenRequest(name: "branch", ttl: "2h", uses: 3, lan: ["198.51.100.0/24"]), bearer: admin)
            XCTAssertEqual(r.status, .created)
            let made = try decodeJSON(WGIssuedToken.self, r.body)
            XCTAssertTrue(made.token.hasPrefix("wgt_"))
            XCTAssertEqual(made.enrollArgv[0...1], ["wgagent", "enroll"])
            XCTAssertEqual(made.userDataForm, "agent-present", "this hub serves no agent: \(made.stockImageProblem ?? "")")
            XCTAssertTrue(made.userData.hasPrefix("#cloud-config"))
            // The token works for enrollment, with its grant.
            let e = try await t.hub.enroll(enrollBody(token: made.token, lan: ["198.51.100.0/24"]), from: "203.0.113.9")
            let granted = try await t.store.site(id: e.siteID!)?.lanGranted
            XCTAssertEqual(granted, ["198.51.100.0/24"])

            let list = try decodeISO([WGTokenListing].self, try await client.get("/v1/tokens", bearer: admin).body)
            XCTAssertEqual(list.map(\.id), [made.id], "enrollment tokens only")
            XCTAssertEqual(list[0].uses, 1)
            let all = try decodeISO([WGTokenListing].self, try await client.get("/v1/tokens?all=1", bearer: admin).body)
            XCTAssertEqual(all.count, 2)

            for (body, field) in [(WGTokenRequest(ttl: "soon"), "ttl"), (WGTokenRequest(uses: 0), "uses"),
                                  (WGTokenRequest(lan: ["0.0.0.0/0"]), "lan"), (WGTokenRequest(vars: ["Bad Name=1"]), "vars"),
                                  (WGTokenRequest(name: "two\nlines"), "name"), (WGTokenRequest(profile: "../etc"), "profile")] {
                let refused = try await client.postJSON("/v1/tokens", body, bearer: admin)
                XCTAssertEqual(refused.status, .badRequest, field)
                XCTAssertEqual(try decodeJSON(WGErrorBody.self, refused.body).field ?? "lan", field, String(buffer: refused.body))
            }
            XCTAssertEqual(try t.store.tokens().count, 2, "no refused request made a token")

            await AssertEqual(try await client.execute(uri: "/v1/tokens/\(made.id)", method: .delete, headers: [.authorization: "Bearer \(admin)"]).status, .ok)
            XCTAssertEqual(try t.store.tokens().first { $0.id == made.id }?.state(now: Date()), "revoked")
            await AssertEqual(try await client.execute(uri: "/v1/tokens/tok_nothing", method: .delete, headers: [.authorization: "Bearer \(admin)"]).status, .notFound)
        }
    }
}

/// The admin API's JSON has ISO 8601 dates (WGHubJSON).
func decodeISO<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
    let d = JSONDecoder()
    d.dateDecodingStrategy = .iso8601
    return try d.decode(T.self, from: Data(buffer.readableBytesView))
}
