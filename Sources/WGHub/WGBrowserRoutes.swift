import Foundation
import Hummingbird
import NIOCore

/// Managing the hub from a browser. Sign in with an admin token (`POST /signin`, throttled like a bearer), get a
/// session cookie (HttpOnly, Secure, SameSite=Strict, `__Host-`), and every change is a form that posts the session's
/// CSRF token from the same origin. The operations are the admin API's: `WGTokenAdmin` (tokens),
/// `WGHubService.updateGrants` and `.deleteSite` (sites).
func addBrowserRoutes(_ router: Router<WGHubRequestContext>, hub: WGHubService) {
    router.get("/signin") { request, _ in
        if await hub.browserSession(request) != nil { return redirect(safeNext(request.uri.queryParameters.get("next"))) }
        return htmlPage(WGAdminPages.signIn(error: nil, next: safeNext(request.uri.queryParameters.get("next"))))
    }

    router.post("/signin") { request, context in
        try checkSameOrigin(request, hub: hub)
        let form = try await readForm(WGSignInForm.self, request)
        let next = safeNext(form.next)
        let tokenID: String
        do {
            tokenID = try await hub.checkAdmin(form.token?.trimmingCharacters(in: .whitespacesAndNewlines), from: context.clientAddress)
        } catch let e as WGHubError {
            hub.metrics.count("wghub_signins_refused_total")
            let why = e.status == 429 ? "Too many refused tokens from your address: wait a few minutes." : "That is not a valid admin token (unknown, revoked or expired)."
            return htmlPage(WGAdminPages.signIn(error: why, next: next), status: .init(code: e.status))
        }
        let (cookie, _) = hub.sessions.create(adminTokenID: tokenID)
        hub.metrics.count("wghub_signins_total")
        hub.logger.notice("browser sign-in", metadata: ["admin_token": "\(tokenID)", "from": "\(context.clientAddress ?? "unknown")"])
        var response = redirect(next)
        response.setCookie(sessionCookie(hub, value: cookie, maxAge: Int(hub.sessions.maxAge)))
        return response
    }

    router.post("/signout") { request, _ in
        try await asPage(hub) {
            let (cookie, _, _) = try await formSession(request, hub: hub, WGCSRFForm.self)
            hub.sessions.end(cookie)
            var response = redirect("/signin")
            response.setCookie(sessionCookie(hub, value: "", maxAge: 0))
            return response
        }
    }

    router.get("/tokens") { request, _ in
        try await asPage(hub) {
            guard let (_, session) = await hub.browserSession(request) else { return redirect("/signin?next=%2Ftokens") }
            let list = try await hub.tokenList(all: false)
            return htmlPage(WGAdminPages.tokens(list, csrf: session.csrf, now: Date()))
        }
    }

    router.post("/tokens") { request, _ in
        try await asPage(hub) {
            let (_, session, form) = try await formSession(request, hub: hub, WGTokenForm.self)
            do {
                let issued = try await hub.createToken(try form.request())
                let nonce = WGHubSecrets.base64URL(WGHubSecrets.randomBytes(16))
                return htmlPage(WGAdminPages.created(issued, csrf: session.csrf, nonce: nonce), scriptNonce: nonce)
            } catch let e as WGHubError where e.status == 400 {
                let list = try await hub.tokenList(all: false)
                return htmlPage(WGAdminPages.tokens(list, csrf: session.csrf, form: form, error: e.body.message, now: Date()), status: .badRequest)
            }
        }
    }

    router.post("/tokens/{id}/revoke") { request, context in
        try await asPage(hub) {
            let (_, session, _) = try await formSession(request, hub: hub, WGCSRFForm.self)
            let id = context.parameters.get("id") ?? ""
            try await hub.revokeToken(id: id)
            let list = try await hub.tokenList(all: false)
            return htmlPage(WGAdminPages.tokens(list, csrf: session.csrf, notice: "Token \(id) revoked: it enrolls nothing any more.", now: Date()))
        }
    }

    router.post("/sites/{id}/lan") { request, context in
        try await asPage(hub) {
            let (_, session, form) = try await formSession(request, hub: hub, WGLANForm.self)
            let id = try siteID(context)
            let prefixes = (form.prefixes ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            let revoke = form.action == "revoke"
            do {
                guard !prefixes.isEmpty, prefixes.count <= 16 else { throw WGHubError.invalid("prefixes", "one to 16 prefixes, e.g. 198.51.100.0/24") }
                _ = try await hub.updateGrants(siteID: id, grant: revoke ? [] : prefixes, revoke: revoke ? prefixes : [])
            } catch let e as WGHubError where e.status == 400 || e.status == 409 {
                return htmlPage(try await WGSitePage.render(hub: hub, id: id, now: Date(), csrf: session.csrf, error: e.body.message), status: .init(code: e.status))
            }
            let notice = "\(revoke ? "Withdrawn" : "Granted"): \(prefixes.joined(separator: " "))."
            return htmlPage(try await WGSitePage.render(hub: hub, id: id, now: Date(), csrf: session.csrf, notice: notice))
        }
    }

    router.get("/sites/{id}/delete") { request, context in
        try await asPage(hub) {
            let id = try siteID(context)
            guard let (_, session) = await hub.browserSession(request) else { return redirect("/signin?next=%2Fsites%2F\(id)%2Fdelete") }
            return htmlPage(WGAdminPages.confirmDelete(try await hub.view(id: id), csrf: session.csrf))
        }
    }

    router.post("/sites/{id}/delete") { request, context in
        try await asPage(hub) {
            let (_, session, form) = try await formSession(request, hub: hub, WGDeleteForm.self)
            let id = try siteID(context)
            let view = try await hub.view(id: id)
            guard form.confirm?.trimmingCharacters(in: .whitespaces) == view.hostname else {
                return htmlPage(WGAdminPages.confirmDelete(view, csrf: session.csrf, error: "The name typed is not \(view.hostname): nothing was deleted."),
                                status: .badRequest)
            }
            let site = try await hub.deleteSite(id: id)
            let html = try await WGDashboard.render(views: try await hub.views(), hub: hub, now: Date(), csrf: session.csrf,
                                                    notice: "Site \(site.hostname) (#\(site.id)) deleted.")
            return htmlPage(html)
        }
    }
}

/// A refusal as a page a person reads (the JSON body is for the API), and an expired session back to sign-in.
private func asPage(_ hub: WGHubService, _ body: () async throws -> Response) async throws -> Response {
    do {
        return try await body()
    } catch let e as WGHubError {
        hub.metrics.refusal(e.reason)
        if e.reason == "session_required" { return redirect("/signin") }
        return htmlPage(WGAdminPages.refused(e), status: .init(code: e.status))
    }
}

extension WGHubService {
    /// The browser's session when its cookie names a live one whose admin token is still valid.
    func browserSession(_ request: Request) async -> (cookie: String, session: WGSessions.Session)? {
        guard let cookie = request.cookies[sessionCookieName]?.value, let s = sessions.session(cookie) else { return nil }
        guard (try? await store.isValidAdminToken(id: s.adminTokenID)) == true else {
            sessions.end(cookie)
            return nil
        }
        return (cookie, s)
    }

    var sessionCookieName: String { config.insecureHTTP ? WGSessions.plainCookieName : WGSessions.secureCookieName }

    /// Who may see a page: a signed-in browser, anyone with `--open-dashboard`, or a bearer/Basic admin token.
    /// nil: let it see (with the session's CSRF token when signed in); a response: what to answer instead.
    func pageAccess(_ request: Request, _ context: WGHubRequestContext, redirectTo path: String?) async throws -> (csrf: String?, deny: Response?) {
        if let (_, s) = await browserSession(request) { return (s.csrf, nil) }
        if config.openDashboard { return (nil, nil) }
        if request.headers[.authorization] != nil || path == nil {
            try await checkAdmin(request.bearer, from: context.clientAddress)
            return (nil, nil)
        }
        return (nil, redirect("/signin?next=" + (path!.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "%2F")))
    }

    // The admin API's token operations off the cooperative pool (the store calls are synchronous).
    func createToken(_ r: WGTokenRequest) async throws -> WGIssuedToken {
        let policy = await policy()
        let store = self.store, data = config.dataDirectory
        let issued = try await WGBlockingWork.run { try WGIssuedToken(WGTokenAdmin.create(r, store: store, dataDirectory: data, policy: policy)) }
        metrics.count("wghub_tokens_created_total")
        logger.notice("enrollment token created", metadata: ["token": "\(issued.id)"])
        return issued
    }

    func tokenList(all: Bool) async throws -> [WGTokenListing] {
        let store = self.store
        return try await WGBlockingWork.run { try WGTokenAdmin.list(store: store, all: all) }
    }

    func revokeToken(id: String) async throws {
        let store = self.store
        try await WGBlockingWork.run { try WGTokenAdmin.revoke(store: store, id: id) }
        metrics.count("wghub_tokens_revoked_total")
        logger.notice("token revoked", metadata: ["token": "\(id.prefix(64))"])
    }
}

/// A form's session: the cookie's, and the CSRF token it posted must be that session's. Refused otherwise (403).
private func formSession<F: Decodable & WGPostedForm>(_ request: Request, hub: WGHubService, _ type: F.Type) async throws
    -> (cookie: String, session: WGSessions.Session, form: F)
{
    try checkSameOrigin(request, hub: hub)
    guard let (cookie, session) = await hub.browserSession(request) else {
        throw WGHubError(401, "session_required", "sign in first: GET /signin (the session may have expired)")
    }
    let form = try await readForm(F.self, request)
    guard let posted = form.csrf, WGSessions.same(posted, session.csrf) else {
        hub.metrics.count("wghub_csrf_refused_total")
        throw WGHubError(403, "csrf_refused", "the form's CSRF token is not this session's: reload the page and submit again")
    }
    return (cookie, session, form)
}

/// A browser sends Origin with every POST (and Sec-Fetch-Site): one naming another site is refused, before the
/// cookie is even looked at. (SameSite=Strict already keeps the cookie off such requests; this is the second lock.)
private func checkSameOrigin(_ request: Request, hub: WGHubService) throws {
    if let site = request.headers[secFetchSite], site != "same-origin", site != "none" {
        throw WGHubError(403, "cross_origin", "a form from another site (Sec-Fetch-Site: \(site.prefix(20))) changes nothing here")
    }
    guard let origin = request.headers[.origin] else { return }
    let scheme = hub.config.insecureHTTP ? "http" : "https"
    guard let host = request.head.authority, origin == "\(scheme)://\(host)" else {
        throw WGHubError(403, "cross_origin", "a form from \(origin.prefix(80)) changes nothing here")
    }
}

/// Forms are small: 16 KiB, url-encoded, decoded by Hummingbird's URLEncodedFormDecoder.
private func readForm<F: Decodable>(_ type: F.Type, _ request: Request) async throws -> F {
    guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
        throw WGHubError(415, "form_expected", "send the form as application/x-www-form-urlencoded")
    }
    let buffer = try await WGHubJSON.body(of: request, limit: 16 * 1024)
    do {
        return try URLEncodedFormDecoder().decode(F.self, from: String(buffer: buffer))
    } catch {
        throw WGHubError(400, "form_invalid", "the form could not be read: reload the page and submit again")
    }
}

/// Only a path on this hub (an open redirect would be a phishing aid): one leading `/`, then no `//`, backslash,
/// whitespace or control character, in the text as given nor once percent-decoded. Browsers drop TAB, CR and LF
/// from a Location and read `\\` as `/`, so `/%09/host` or `/\\host` would otherwise lead to another origin.
func safeNext(_ next: String?) -> String {
    guard let next, next.count <= 200, isLocalPath(next), let decoded = next.removingPercentEncoding, isLocalPath(decoded) else { return "/" }
    return next
}

private func isLocalPath(_ p: String) -> Bool {
    p.hasPrefix("/") && !p.contains("//") && !p.unicodeScalars.contains { s in
        s == "\\" || s.properties.isWhitespace || s.properties.generalCategory == .control || s.properties.generalCategory == .format
    }
}

func redirect(_ location: String) -> Response {
    Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
}

private func sessionCookie(_ hub: WGHubService, value: String, maxAge: Int) -> Cookie {
    Cookie(name: hub.sessionCookieName, value: value, maxAge: maxAge, path: "/", secure: !hub.config.insecureHTTP, httpOnly: true, sameSite: .strict)
}

/// Every HTML page: not cached, not framed, no referrer to other sites, nothing loaded from elsewhere; a script only by nonce.
func htmlPage(_ html: String, status: HTTPResponse.Status = .ok, scriptNonce: String? = nil) -> Response {
    let script = scriptNonce.map { "'nonce-\($0)'" } ?? "'none'"
    return Response(
        status: status,
        headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src \(script); "
                + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            xFrameOptions: "DENY", .xContentTypeOptions: "nosniff",
            // same-origin, not no-referrer: under no-referrer a browser posts `Origin: null`, which checkSameOrigin refuses.
            referrerPolicy: "same-origin",
        ],
        body: .init(byteBuffer: ByteBuffer(string: html)))
}

// Not among HTTPTypes' names.
private let secFetchSite = HTTPFields.Element.Name("Sec-Fetch-Site")!
private let xFrameOptions = HTTPFields.Element.Name("X-Frame-Options")!
private let referrerPolicy = HTTPFields.Element.Name("Referrer-Policy")!

protocol WGPostedForm { var csrf: String? { get } }
extension WGTokenForm: WGPostedForm {}

struct WGCSRFForm: Codable, Sendable, WGPostedForm { var csrf: String? }
struct WGSignInForm: Codable, Sendable { var token: String?; var next: String? }
struct WGLANForm: Codable, Sendable, WGPostedForm { var csrf: String?; var action: String?; var prefixes: String? }
struct WGDeleteForm: Codable, Sendable, WGPostedForm { var csrf: String?; var confirm: String? }
