import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import WGModel

/// Request context carrying the client's address (for `observed_address`, probes and rate limiting).
public struct WGHubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The admin token a request of the admin group carries, once WGAdminAuthMiddleware checked it.
    public var adminTokenID: String?
    /// The site whose credential a request of the agent group carries, once WGSiteAuthMiddleware checked it.
    public var site: WGSiteKey?

    /// The checked site; a route of the agent group outside it would be a wiring mistake, refused like no credential.
    func requireSite() throws -> WGSiteKey {
        guard let site else { throw WGHubError.credentialMissing }
        return site
    }
    /// The connection: a download's writer waits on it between slices (WGSendGate).
    public let channel: any Channel

    /// The client behind a trusted reverse proxy, from its `X-Forwarded-For` (set by `WGClientAddressMiddleware`).
    public var forwardedClient: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The client's IP as text (IPv4-mapped IPv6 shown as IPv4): the TCP peer, or the client a trusted proxy
    /// names; nil when unknown (router tests).
    public var clientAddress: String? {
        if let forwardedClient { return forwardedClient }
        return remoteAddress?.ipAddress.map(WGClientAddress.unmapped)
    }
}

/// Who the client is when the hub runs behind a reverse proxy (`wghub serve --trusted-proxy CIDR`): only a TCP peer
/// inside a trusted CIDR may name it, in `X-Forwarded-For`; from anyone else the header is ignored (a client could
/// write any address there, and then dodge or aim the per-address limits).
public enum WGClientAddress {
    /// `::ffff:192.0.2.1` as `192.0.2.1`.
    static func unmapped(_ ip: String) -> String {
        ip.hasPrefix("::ffff:") && !ip.dropFirst(7).contains(":") ? String(ip.dropFirst(7)) : ip
    }

    /// The client for a request from `peer` carrying `forwardedFor` (the header's values, in order): walking from
    /// the right (the entry the nearest proxy added), the first address that is not itself a trusted proxy. The
    /// peer when it is not trusted, and the nearest trusted hop when an entry is not an address.
    public static func resolve(peer: String?, forwardedFor: [String], trusted: [WGCIDR]) -> String? {
        guard let peer, !trusted.isEmpty, isTrusted(peer, trusted) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peer
        for hop in hops.reversed() {
            guard let ip = address(hop) else { break }
            client = ip
            if !isTrusted(ip, trusted) { break }
        }
        return client
    }

    static func isTrusted(_ ip: String, _ trusted: [WGCIDR]) -> Bool {
        guard let a = try? WGIPAddress(ip) else { return false }
        return trusted.contains { $0.contains(a) }
    }

    /// An X-Forwarded-For entry's address: `IP`, `IPv4:PORT`, `[IPv6]` or `[IPv6]:PORT`.
    static func address(_ hop: String) -> String? {
        var h = Substring(hop)
        if h.hasPrefix("["), let end = h.firstIndex(of: "]") {
            h = h[h.index(after: h.startIndex)..<end]
        } else if h.filter({ $0 == ":" }).count == 1, let colon = h.firstIndex(of: ":") {
            h = h[..<colon]
        }
        guard let a = try? WGIPAddress(String(h)) else { return nil }
        return unmapped(a.description)
    }
}

/// Sets `forwardedClient` for requests that came through a trusted proxy; first in the chain, so that every
/// limit, log line and observed address uses the same client.
struct WGClientAddressMiddleware: RouterMiddleware {
    typealias Context = WGHubRequestContext
    let trusted: [WGCIDR]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !trusted.isEmpty else { return try await next(request, context) }
        var context = context
        let peer = context.remoteAddress?.ipAddress.map(WGClientAddress.unmapped)
        let client = WGClientAddress.resolve(peer: peer, forwardedFor: request.headers[values: xForwardedFor], trusted: trusted)
        if client != peer { context.forwardedClient = client }
        return try await next(request, context)
    }
}

private let xForwardedFor = HTTPFields.Element.Name("X-Forwarded-For")!

enum WGHubJSON {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads at most `limit` bytes (413 beyond) and decodes; a decoding failure is a 400 naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> (T, String) {
        let buffer = try await body(of: request, limit: limit)
        let data = Data(buffer.readableBytesView)
        do {
            return (try JSONDecoder().decode(T.self, from: data), String(decoding: data, as: UTF8.self))
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw WGHubError.invalid(path(ctx.codingPath + [key]), "missing")
        } catch let DecodingError.typeMismatch(t, ctx) {
            throw WGHubError.invalid(path(ctx.codingPath), "expected \(describe(t))")
        } catch let DecodingError.valueNotFound(t, ctx) {
            throw WGHubError.invalid(path(ctx.codingPath), "expected \(describe(t)), got null")
        } catch let DecodingError.dataCorrupted(ctx) where !ctx.codingPath.isEmpty {
            throw WGHubError.invalid(path(ctx.codingPath), ctx.debugDescription)
        } catch {
            throw WGHubError.badJSON("not a JSON object")
        }
    }

    /// The request body, at most `limit` bytes (413 beyond): JSON here, forms in WGBrowserRoutes.
    static func body(of request: Request, limit: Int) async throws -> ByteBuffer {
        var request = request
        do { return try await request.collectBody(upTo: limit) } catch is NIOTooManyBytesError { throw WGHubError.tooLarge(limit) }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for k in keys {
            if let i = k.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + k.stringValue }
        }
        return out.isEmpty ? "body" : out
    }

    static func describe(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "an integer"
        case is Bool.Type: "true or false"
        default: "\(t)"
        }
    }
}

extension Request {
    /// The bearer secret: `Authorization: Bearer X`, or the password of Basic auth (so a browser can show the dashboard).
    var bearer: String? {
        guard let h = headers[.authorization] else { return nil }
        if h.lowercased().hasPrefix("bearer ") { return String(h.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
        if h.lowercased().hasPrefix("basic "), let data = Data(base64Encoded: String(h.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
           let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") {
            return String(text[text.index(after: colon)...])
        }
        return nil
    }
}

/// The admin API's route group: the bearer must be a live admin token (`WGHubService.checkAdmin`: refusals counted
/// and throttled per address, a valid token let through a throttled address). Checked here once, so no route body
/// looks at a bearer; the token's id is in `context.adminTokenID` for the routes that want it.
struct WGAdminAuthMiddleware: RouterMiddleware {
    typealias Context = WGHubRequestContext
    let hub: WGHubService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.adminTokenID = try await hub.checkAdmin(request.bearer, from: context.clientAddress)
        return try await next(request, context)
    }
}

/// The agent API's route group: the bearer must be a site's credential (`WGHubService.siteKey`: usually from
/// memory, refusals counted and throttled per address, a known credential let through a throttled address). The
/// site is in `context.site`; a route acts on that site only.
struct WGSiteAuthMiddleware: RouterMiddleware {
    typealias Context = WGHubRequestContext
    let hub: WGHubService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.site = try await hub.siteKey(bearer: request.bearer, from: context.clientAddress)
        return try await next(request, context)
    }
}

/// Turns every error into the JSON error body, counts requests and refusals, and logs refusals without secrets.
struct WGHubErrorMiddleware: RouterMiddleware {
    typealias Context = WGHubRequestContext
    let metrics: WGHubMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let route = Self.route(request.uri.path)
        let method = request.method.rawValue
        do {
            let response = try await next(request, context)
            metrics.request(method: method, route: route, code: response.status.code)
            return response
        } catch {
            let hub: WGHubError
            var extraHeaders: HTTPFields = [:]
            switch error {
            case let e as WGHubError: hub = e
            case is NIOTooManyBytesError: hub = WGHubError.tooLarge(0)
            case let e as HTTPParserError:
                // A malformed request (bad chunk size, broken header) is the client's fault: 400, logged at notice.
                hub = WGHubError(400, "invalid_http", "the request is not valid HTTP/1.1: \(e)")
            case let e as HTTPResponseError where e.status == .notFound: hub = WGHubError.notFound
            case let e as HTTPResponseError where e.status == .contentTooLarge: hub = WGHubError(413, "body_too_large", "the body is too large")
            case let e as HTTPResponseError:
                hub = WGHubError(e.status.code, "http_\(e.status.code)", e.status.reasonPhrase)
            default:
                logger.error("internal error on \(method) \(route): \(error)")
                hub = WGHubError(500, "internal_error", "the hub failed; its log says why")
            }
            if hub.status == 401 {
                extraHeaders[.wwwAuthenticate] = route == "/" ? "Basic realm=\"wghub\"" : "Bearer realm=\"wghub\""
            }
            if let seconds = hub.retryAfter { extraHeaders[.retryAfter] = "\(seconds)" } else if hub.status == 429 { extraHeaders[.retryAfter] = "60" }
            metrics.request(method: method, route: route, code: hub.status)
            // A parse error was counted by the connection's WGRequestDeadlines already.
            if hub.status < 500, !(error is HTTPParserError) {
                metrics.refusal(hub.reason)
                logger.notice("refused \(method) \(route)", metadata: [
                    "status": "\(hub.status)", "reason": "\(hub.reason)", "field": "\(hub.body.field ?? "-")",
                    "from": "\(context.clientAddress ?? "unknown")",
                ])
            }
            var response = try WGHubJSON.response(hub.body, status: .init(code: hub.status))
            for f in extraHeaders { response.headers.append(f) }
            return response
        }
    }

    /// Route label with ids folded, so /metrics stays bounded.
    static func route(_ path: String) -> String {
        let known = ["/", "/metrics", "/v1/enroll", "/v1/health", "/v1/probe", "/v1/sites", "/v1/agent"]
        if known.contains(path) { return path }
        if path.hasPrefix("/v1/agent/") { return "/v1/agent/{arch}" }
        if path.hasPrefix("/v1/sites/") && path.hasSuffix("/lan") { return "/v1/sites/{id}/lan" }
        if path.hasPrefix("/v1/sites/") { return "/v1/sites/{id}" }
        if path.hasPrefix("/v1/probe/") && path.hasSuffix("/result") { return "/v1/probe/{id}/result" }
        for p in ["/signin", "/signout", "/tokens", "/v1/tokens", "/v1/alerts"] where path == p { return p }
        if path.hasPrefix("/v1/tokens/") { return "/v1/tokens/{id}" }
        if path.hasPrefix("/tokens/") && path.hasSuffix("/revoke") { return "/tokens/{id}/revoke" }
        if path.hasPrefix("/sites/") {
            for tail in ["/lan", "/delete"] where path.hasSuffix(tail) { return "/sites/{id}" + tail }
            return "/sites/{id}"
        }
        return "other"
    }
}
