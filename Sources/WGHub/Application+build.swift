import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import WGModel

/// The routes, as in Hummingbird's examples: `buildRouter` for tests through the router, `buildApplication`
/// for a server (TLS unless `insecureHTTP`).
public func buildRouter(hub: WGHubService) -> Router<WGHubRequestContext> {
    let router = Router(context: WGHubRequestContext.self)
    router.middlewares.add(WGHubErrorMiddleware(metrics: hub.metrics, logger: hub.logger))
    let limit = hub.config.maxBodyBytes

    router.post("/v1/enroll") { request, context in
        let (body, _) = try await WGHubJSON.decode(WGEnrollRequest.self, from: request, limit: limit)
        return try WGHubJSON.response(try await hub.enroll(body, from: context.clientAddress))
    }

    router.post("/v1/health") { request, context in
        let site = try await hub.siteKey(bearer: request.bearer)
        let (report, text) = try await WGHubJSON.decode(WGHealthReport.self, from: request, limit: limit)
        return try WGHubJSON.response(try await hub.health(report, body: text, site: site, from: context.clientAddress))
    }

    router.post("/v1/probe") { request, context in
        let site = try await hub.site(bearer: request.bearer)
        let (probe, _) = try await WGHubJSON.decode(WGProbeRequest.self, from: request, limit: limit)
        return try WGHubJSON.response(try await hub.probe(probe, site: site, from: context.clientAddress), status: .accepted)
    }

    router.post("/v1/probe/{id}/result") { request, context in
        let site = try await hub.site(bearer: request.bearer)
        let (result, _) = try await WGHubJSON.decode(WGProbeResult.self, from: request, limit: limit)
        let id = context.parameters.get("id") ?? ""
        return try WGHubJSON.response(try await hub.completeProbe(id: id, nonce: result.nonce, agentVerdict: result.verdict, site: site))
    }

    router.get("/v1/sites") { request, _ in
        try hub.checkAdmin(request.bearer)
        return try WGHubJSON.response(try await hub.views())
    }

    router.get("/v1/sites/{id}") { request, context in
        try hub.checkAdmin(request.bearer)
        return try WGHubJSON.response(try await hub.view(id: try siteID(context)))
    }

    router.delete("/v1/sites/{id}") { request, context in
        try hub.checkAdmin(request.bearer)
        let site = try await hub.deleteSite(id: try siteID(context))
        return try WGHubJSON.response(["deleted": site.id])
    }

    router.get("/metrics") { request, _ in
        if !hub.config.openDashboard { try hub.checkAdmin(request.bearer) }
        let text = await WGMetricsPage.render(hub: hub)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    router.get("/") { request, _ in
        if !hub.config.openDashboard { try hub.checkAdmin(request.bearer) }
        let html = try await WGDashboard.render(views: try await hub.views(), hub: hub, now: Date())
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
    return router
}

private func siteID(_ context: WGHubRequestContext) throws -> Int64 {
    guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
        throw WGHubError.invalid("id", "a site id is a positive integer (see GET /v1/sites)")
    }
    return id
}

/// The server: TLS with the identity (or plain HTTP when `insecureHTTP`), bound to the configured address.
/// `onRunning` gets the bound port (useful with port 0).
public func buildApplication(
    hub: WGHubService, tls: WGTLSIdentity?, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = buildRouter(hub: hub)
    let server: HTTPServerBuilder
    if hub.config.insecureHTTP {
        server = .http1()
    } else {
        guard let tls else { throw WGHubStartError("no TLS identity: HTTPS needs a certificate (or pass --insecure-http)") }
        server = try .tls(.http1(), tlsConfiguration: try tls.serverConfiguration())
    }
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(hub.config.listenHost, port: hub.config.listenPort), serverName: "wghub"),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
        logger: hub.logger)
}

/// Builds and runs the server until SIGTERM / SIGINT.
public func runServer(hub: WGHubService, tls: WGTLSIdentity?, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
    let app = try buildApplication(hub: hub, tls: tls, onRunning: onRunning)
    try await app.runService()
}
