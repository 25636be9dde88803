import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle
import WGModel

/// The routes, as in Hummingbird's examples: `buildRouter` for tests through the router, `buildApplication`
/// for a server (TLS unless `insecureHTTP`).
public func buildRouter(hub: WGHubService) -> Router<WGHubRequestContext> {
    let router = Router(context: WGHubRequestContext.self)
    router.middlewares.add(WGClientAddressMiddleware(trusted: hub.config.trustedProxies))
    router.middlewares.add(WGHubErrorMiddleware(metrics: hub.metrics, logger: hub.logger))
    let limit = hub.config.maxBodyBytes

    router.post("/v1/enroll") { request, context in
        let (body, _) = try await WGHubJSON.decode(WGEnrollRequest.self, from: request, limit: limit)
        // A site re-enrolling its own key proves it with its credential (Authorization: Bearer).
        return try WGHubJSON.response(try await hub.enroll(body, credential: request.bearer, from: context.clientAddress))
    }

    // The agent API: one route group whose middleware checks the site's credential once (WGSiteAuthMiddleware).
    let agent = router.group().add(middleware: WGSiteAuthMiddleware(hub: hub))

    agent.post("/v1/health") { request, context in
        let (report, text) = try await WGHubJSON.decode(WGHealthReport.self, from: request, limit: limit)
        return try WGHubJSON.response(try await hub.health(report, body: text, site: try context.requireSite(), from: context.clientAddress))
    }

    agent.post("/v1/probe") { request, context in
        let site = try await hub.site(key: try context.requireSite())
        let (probe, _) = try await WGHubJSON.decode(WGProbeRequest.self, from: request, limit: limit)
        return try WGHubJSON.response(try await hub.probe(probe, site: site, from: context.clientAddress), status: .accepted)
    }

    agent.post("/v1/probe/{id}/result") { request, context in
        let site = try await hub.site(key: try context.requireSite())
        let (result, _) = try await WGHubJSON.decode(WGProbeResult.self, from: request, limit: limit)
        let id = context.parameters.get("id") ?? ""
        return try WGHubJSON.response(try await hub.completeProbe(id: id, nonce: result.nonce, agentVerdict: result.verdict, site: site))
    }

    // The admin API: one route group whose middleware checks the admin token once (WGAdminAuthMiddleware).
    let admin = router.group().add(middleware: WGAdminAuthMiddleware(hub: hub))

    admin.get("/v1/sites") { request, context in
        return try WGHubJSON.response(try await hub.views())
    }

    admin.get("/v1/sites/{id}") { request, context in
        return try WGHubJSON.response(try await hub.view(id: try siteID(context)))
    }

    admin.delete("/v1/sites/{id}") { request, context in
        let site = try await hub.deleteSite(id: try siteID(context))
        return try WGHubJSON.response(["deleted": site.id])
    }

    // Grant or withdraw LAN prefixes: {"grant": ["198.51.100.0/24"], "revoke": […]}.
    admin.post("/v1/sites/{id}/lan") { request, context in
        let (change, _) = try await WGHubJSON.decode(WGLANGrantRequest.self, from: request, limit: limit)
        return try WGHubJSON.response(
            try await hub.updateGrants(siteID: try siteID(context), grant: change.grant ?? [], revoke: change.revoke ?? []))
    }

    // The agent binary this hub ships with (see WGAgentBundle): what it is, then the bytes. Both gated
    // (checkAgentDownload): an anonymous client learns nothing and cannot make the hub send megabytes.
    router.get("/v1/agent") { request, context in
        try await hub.checkAgentDownload(request.bearer, from: context.clientAddress)
        guard let info = hub.agent.info else { throw WGHubError.agentMissing }
        return try WGHubJSON.response(info)
    }

    // The bytes: whole or gzip, HEAD and Range for a resumed download, bounded slots (WGAgentDownloads).
    let download: @Sendable (Request, WGHubRequestContext) async throws -> Response = { request, context in
        try await hub.checkAgentDownload(request.bearer, from: context.clientAddress)
        let gate = request.method == .head ? nil : await WGSendGate.of(context.channel)
        return try hub.downloads.answer(request, arch: context.parameters.get("arch") ?? "", client: context.clientAddress ?? "unknown", gate: gate)
    }
    router.get("/v1/agent/{arch}", use: download)
    router.head("/v1/agent/{arch}", use: download)

    // Tokens, as `wghub token create|list|revoke` (the same WGTokenAdmin code).
    admin.get("/v1/tokens") { request, context in
        let all = ["1", "true", "yes"].contains(request.uri.queryParameters.get("all") ?? "")
        return try WGHubJSON.response(try await hub.tokenList(all: all))
    }

    admin.post("/v1/tokens") { request, context in
        let (body, _) = try await WGHubJSON.decode(WGTokenRequest.self, from: request, limit: limit)
        return try WGHubJSON.response(try await hub.createToken(body), status: .created)
    }

    admin.delete("/v1/tokens/{id}") { request, context in
        let id = context.parameters.get("id") ?? ""
        try await hub.revokeToken(id: id)
        return try WGHubJSON.response(["revoked": id])
    }

    addAlertRoutes(admin, hub: hub)
    addBrowserRoutes(router, hub: hub)

    router.get("/metrics") { request, context in
        // Prometheus sends a bearer; a signed-in browser may look too. Never a redirect here.
        if let deny = try await hub.pageAccess(request, context, redirectTo: nil).deny { return deny }
        let text = await WGMetricsPage.render(hub: hub)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // The pages: a signed-in browser (WGBrowserRoutes), `--open-dashboard`, or an admin bearer/Basic; an
    // anonymous browser is sent to /signin.
    router.get("/") { request, context in
        let (csrf, deny) = try await hub.pageAccess(request, context, redirectTo: "/")
        if let deny { return deny }
        let q = request.uri.queryParameters
        let filter = WGDashboard.Filter(status: q.get("status"), query: q.get("q"))
        return htmlPage(try await WGDashboard.render(views: try await hub.views(), hub: hub, now: Date(), filter: filter, csrf: csrf))
    }

    // One site: its facts, history charts (inline SVG) and incidents (WGSitePage); for an admin, its management.
    router.get("/sites/{id}") { request, context in
        let id = try siteID(context)
        let (csrf, deny) = try await hub.pageAccess(request, context, redirectTo: "/sites/\(id)")
        if let deny { return deny }
        return htmlPage(try await WGSitePage.render(hub: hub, id: id, now: Date(), csrf: csrf))
    }
    return router
}

/// The SHA-256 (hex) of the agent binary in a download's answer, for a client that checks it as it saves.
let agentChecksumHeader = HTTPFields.Element.Name("X-Checksum-Sha256")!  // HTTPField: Hummingbird exports HTTPFields only

/// The body of `POST /v1/sites/{id}/lan`.
struct WGLANGrantRequest: Codable, Sendable {
    var grant: [String]?
    var revoke: [String]?
}

func siteID(_ context: WGHubRequestContext) throws -> Int64 {
    guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
        throw WGHubError.invalid("id", "a site id is a positive integer (see GET /v1/sites)")
    }
    return id
}

/// The server: TLS with the identity (or plain HTTP when `insecureHTTP`), bound to the configured address, every
/// connection admitted within the connection caps and held to the stage deadlines (`WGConnectionLimits`).
/// `onRunning` gets the bound port (useful with port 0).
public func buildApplication(
    hub: WGHubService, tls: WGTLSIdentity?, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = buildRouter(hub: hub)
    let limits = hub.config.connections
    let metrics = hub.metrics
    let admission = hub.admission
    let secure = !hub.config.insecureHTTP
    // Headers are small here (a bearer token and a JSON content type): 16 KiB is plenty, and bounds memory per request.
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [WGRequestDeadlines(limits: limits, metrics: metrics, tls: secure)],
        idleTimeout: nil,
        httpDecoderConfiguration: .init(maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 16 * 1024, maxHeaderFieldCount: 64))
    let tlsConfiguration: TLSConfiguration?
    if secure {
        guard let tls else { throw WGHubStartError("no TLS identity: HTTPS needs a certificate (or pass --insecure-http)") }
        tlsConfiguration = try tls.serverConfiguration()
    } else {
        tlsConfiguration = nil
    }
    let server = HTTPServerBuilder { responder in
        let plain = HTTP1Channel(responder: responder, configuration: http1)
        if let tlsConfiguration {
            return WGGuardedChannel(base: try TLSChannel(plain, tlsConfiguration: tlsConfiguration), admission: admission, metrics: metrics)
        }
        return WGGuardedChannel(base: plain, admission: admission, metrics: metrics)
    }
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(hub.config.listenHost, port: hub.config.listenPort), serverName: "wghub", backlog: 1024),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
        logger: hub.logger)
}

/// Reconciles the interface when the CLI changed the store (grants, deletions), until shutdown.
struct WGStoreWatcher: Service {
    let hub: WGHubService
    func run() async throws {
        try await cancelWhenGracefulShutdown { await hub.watchStore() }
    }
}

/// Builds and runs the server until SIGTERM / SIGINT. Shutdown is bounded: open requests get
/// `gracefulShutdown` to finish, then everything is cancelled, so a hub under attack still stops within seconds.
public func runServer(
    hub: WGHubService, tls: WGTLSIdentity?, gracefulShutdown: Duration = .seconds(5),
    onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws {
    let app = try buildApplication(hub: hub, tls: tls, onRunning: onRunning)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: app), .init(service: WGStoreWatcher(hub: hub)),
        .init(service: WGHistoryPruneService(store: hub.store, logger: hub.logger)),
    ]
    if hub.config.alerts.enabled {
        services.append(.init(service: WGAlertService(evaluator: hub.alerts)))
    } else {
        hub.logger.notice("alerting is off (--no-alerts): no incident is evaluated, no notification sent")
    }
    if !hub.config.history { hub.logger.notice("history is off (--no-history): health reports write no site_history rows") }
    var config = ServiceGroupConfiguration(
        services: services,
        gracefulShutdownSignals: [.sigterm, .sigint], logger: hub.logger)
    config.maximumGracefulShutdownDuration = gracefulShutdown
    config.maximumCancellationDuration = .seconds(2)
    try await ServiceGroup(configuration: config).run()
}
