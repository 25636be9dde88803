import Foundation
import Hummingbird
import Logging
import WGModel

/// What `wghub serve` is told, as given on the command line (durations as text: "10s", "3m").
public struct WGServeOptions: Sendable {
    public var listen = "0.0.0.0:8443"
    public var dataDirectory = "/var/lib/wghub"
    public var interface = "wg0"
    public var endpoint: String
    public var pool: String
    public var tlsCert: String?
    public var tlsKey: String?
    public var insecureHTTP = false
    public var publicURL: String?
    public var noInterface = false
    public var hubPublicKey: String?
    public var keepalive = 25
    public var staleAfter = "3m"
    public var offlineAfter = "10m"
    public var retention = 100
    public var maxBody = 64 * 1024
    public var enrollFailureLimit = 10
    public var healthBatch = 256
    public var openDashboard = false
    public var maxConnections = 4096
    public var maxConnectionsPerIP = 128
    public var handshakeTimeout = "10s"
    public var headerTimeout = "10s"
    public var bodyTimeout = "30s"
    public var idleTimeout = "60s"
    public var shutdownTimeout = "5s"
    public var authFailureLimit = 30
    public var enrollFailureGlobalLimit = 300
    public var probeLimit = 6
    public var shortestLANPrefix4 = 16
    public var shortestLANPrefix6 = 48
    /// Agent binaries to serve (--agent-binary, one per architecture); empty: the wgagent beside wghub.
    public var agentBinaries: [String] = []
    public var agentDownloadLimit = 10
    public var maxDownloads = 32
    public var maxDownloadsPerIP = 4
    public var maxDownloadsPerNetwork = 16
    public var minSendRate = 1024
    public var sendStallTimeout = "60s"
    /// Alerts: how long a problem lasts before its incident opens, how long clear before it resolves, and more.
    public var alertGrace = "2m"
    public var alertHoldDown = "2m"
    public var alertOnStale = false
    public var alertInterval = "5s"
    /// No incident evaluation or notification (--no-alerts), no history written (--no-history).
    public var noAlerts = false
    public var noHistory = false
    /// Reverse proxies (CIDR or address, repeatable) whose X-Forwarded-For names the client.
    public var trustedProxies: [String] = []
    /// Accept webhook receivers on private targets (loopback, link-local, the hub itself) through the API.
    public var allowPrivateReceivers = false

    public init(endpoint: String, pool: String) {
        self.endpoint = endpoint
        self.pool = pool
    }
}

/// An option `serve` cannot run with; the message names the option (the CLI shows it as a usage error).
public struct WGServeOptionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `wghub serve` without the command line: options checked into a configuration, the store opened and
/// reconciled, the TLS identity loaded (or created), then the server run until SIGTERM / SIGINT.
public struct WGHubServer: Sendable {
    public let hub: WGHubService
    public let tls: WGTLSIdentity?
    public let gracefulShutdown: Duration

    /// Checks the options into a configuration (the connection cap kept below the open-file limit) and the shutdown time.
    public static func configuration(_ o: WGServeOptions, logger: Logger) throws -> (WGHubConfiguration, shutdown: TimeInterval) {
        let (host, port) = try parseListen(o.listen)
        let addressPool: WGAddressPool
        do { addressPool = try WGAddressPool(o.pool) } catch { throw WGServeOptionError("\(error)") }
        do { _ = try WGEndpoint(o.endpoint) } catch { throw WGServeOptionError("--endpoint: \(error)") }
        guard let stale = WGDurations.parse(o.staleAfter), let offline = WGDurations.parse(o.offlineAfter), offline >= stale else {
            throw WGServeOptionError("--stale-after / --offline-after: durations like 180s, 3m, 1h; offline-after must not be shorter")
        }
        func seconds(_ flag: String, _ text: String, allowZero: Bool = false) throws -> TimeInterval {
            guard let v = WGDurations.parse(text, allowZero: allowZero) else {
                throw WGServeOptionError("--\(flag) \"\(text)\": a duration like \(allowZero ? "0s, " : "")10s or 2m")
            }
            return v
        }
        guard o.maxConnections >= 1, o.maxConnectionsPerIP >= 1 else {
            throw WGServeOptionError("--max-connections and --max-connections-per-ip must be at least 1")
        }
        guard (1...32).contains(o.shortestLANPrefix4), (1...128).contains(o.shortestLANPrefix6) else {
            throw WGServeOptionError("--shortest-lan-prefix is 1…32, --shortest-lan-prefix6 1…128")
        }
        let connectionCap = WGOpenFileLimit.connectionCap(wanted: o.maxConnections, logger: logger)
        var settings = WGHubConfiguration(
            listenHost: host, listenPort: port, dataDirectory: o.dataDirectory, endpoint: o.endpoint, pool: addressPool,
            tlsCertificatePath: o.tlsCert, tlsKeyPath: o.tlsKey, insecureHTTP: o.insecureHTTP, publicURL: o.publicURL,
            keepalive: o.keepalive, thresholds: .init(staleAfter: stale, offlineAfter: offline), retention: o.retention,
            maxBodyBytes: o.maxBody, enrollFailureLimit: o.enrollFailureLimit, openDashboard: o.openDashboard,
            healthBatch: o.healthBatch)
        settings.connections = WGConnectionLimits(
            handshakeTimeout: try seconds("handshake-timeout", o.handshakeTimeout), headerTimeout: try seconds("header-timeout", o.headerTimeout),
            bodyTimeout: try seconds("body-timeout", o.bodyTimeout), idleTimeout: try seconds("idle-timeout", o.idleTimeout),
            maxConnections: connectionCap, maxConnectionsPerAddress: o.maxConnectionsPerIP,
            minSendRate: Double(o.minSendRate), sendStallTimeout: try seconds("send-stall-timeout", o.sendStallTimeout))
        guard o.minSendRate >= 1, settings.connections.sendStallTimeout >= 1 else {
            throw WGServeOptionError("--min-send-rate must be at least 1 (bytes a second) and --send-stall-timeout at least 1s")
        }
        guard o.maxDownloads >= 1, o.maxDownloadsPerIP >= 1, o.maxDownloadsPerNetwork >= 1 else {
            throw WGServeOptionError("--max-downloads, --max-downloads-per-ip and --max-downloads-per-network must be at least 1")
        }
        settings.downloads = WGDownloadLimits(total: o.maxDownloads, perAddress: o.maxDownloadsPerIP, perNetwork: o.maxDownloadsPerNetwork)
        settings.authFailureLimit = o.authFailureLimit
        settings.enrollFailureGlobalLimit = o.enrollFailureGlobalLimit
        settings.probeLimit = o.probeLimit
        settings.agentDownloadLimit = max(1, o.agentDownloadLimit)
        settings.alerts.grace = try seconds("alert-grace", o.alertGrace, allowZero: true)
        settings.alerts.holdDown = try seconds("alert-hold-down", o.alertHoldDown, allowZero: true)
        settings.alerts.interval = try seconds("alert-interval", o.alertInterval)
        settings.alerts.onStale = o.alertOnStale
        settings.alerts.enabled = !o.noAlerts
        settings.history = !o.noHistory
        settings.shortestLANPrefix4 = o.shortestLANPrefix4
        settings.shortestLANPrefix6 = o.shortestLANPrefix6
        settings.trustedProxies = try o.trustedProxies.map { text in
            guard let c = try? WGCIDR(text.contains("/") ? text : text + (text.contains(":") ? "/128" : "/32")), c.network == c else {
                throw WGServeOptionError("--trusted-proxy \"\(text)\": the proxy's address or network as a CIDR, e.g. 10.0.0.5/32 or 10.0.0.0/24")
            }
            return c
        }
        settings.alerts.allowPrivateReceivers = o.allowPrivateReceivers
        return (settings, try seconds("shutdown-timeout", o.shutdownTimeout))
    }

    /// The interface `serve` keeps in step: the real one through `wg`/`ip`, or none (--no-interface).
    public static func control(_ o: WGServeOptions) throws -> any WGInterfaceControl {
        guard o.noInterface else { return WGCommandControl(interface: o.interface) }
        guard let k = o.hubPublicKey, let key = try? WGKey(base64: k) else {
            throw WGServeOptionError("--no-interface needs --hub-public-key KEY (44 base64 characters, from `wg pubkey`)")
        }
        return WGNoInterfaceControl(publicKey: key)
    }

    /// Checks the options, opens and reconciles the store, loads the TLS identity and records what
    /// `token create` and `site grant` read (pin, URL, endpoint, pool, widths).
    public static func prepare(_ o: WGServeOptions, logger: Logger, control: (any WGInterfaceControl)? = nil) async throws -> WGHubServer {
        let (config, shutdown) = try configuration(o, logger: logger)
        let control = try control ?? Self.control(o)
        let store = try WGHubStore.open(dataDirectory: o.dataDirectory)
        // Read and hashed once, off the cooperative pool; a hub without one still serves everything else.
        let agent = await WGAgentBundle.load(files: WGAgentBundle.candidates(given: o.agentBinaries))
        for problem in agent.problems { logger.warning("agent binary \(problem)") }
        if let info = agent.info {
            logger.info("serving the agent \(info.summary) at GET /v1/agent")
        } else {
            logger.warning("no agent binary to serve: GET /v1/agent answers 404; pass --agent-binary FILE (a wgagent built for Linux)")
        }
        // For `wghub token create`, which names the agent and puts its SHA-256 in cloud-init user-data.
        try store.setMeta(WGAgentInfo.metaKey, agent.info?.metaText ?? "")
        let hub = try WGHubService(config: config, store: store, control: control, agent: agent, logger: logger)
        try await hub.reconcile()

        var tls: WGTLSIdentity?
        if !o.insecureHTTP {
            let identity = try WGTLSIdentity.loadOrCreate(
                dataDirectory: o.dataDirectory, certificatePath: o.tlsCert, keyPath: o.tlsKey, hostNames: config.certificateHostNames)
            tls = identity
            try store.setMeta("pin", identity.pin)
            if identity.created { logger.info("created a self-signed certificate: \(identity.certificatePath)") }
        } else {
            try store.setMeta("pin", "")
        }
        try store.setMeta("public_url", config.effectivePublicURL)
        try store.setMeta("endpoint", config.endpoint)
        // For `wghub site grant`, which checks grants against the pool and the width limits as serve does.
        try store.setMeta("pool", config.pool.description)
        try store.setMeta("shortest_lan_prefix", "\(o.shortestLANPrefix4),\(o.shortestLANPrefix6)")
        return WGHubServer(hub: hub, tls: tls, gracefulShutdown: .milliseconds(Int64(shutdown * 1000)))
    }

    /// The lines `serve` prints once it listens on `port`.
    public func announcement(port: Int) -> [String] {
        let config = hub.config
        let scheme = config.insecureHTTP ? "http" : "https"
        let host = config.listenHost
        let shownHost = host.contains(":") ? "[\(host)]" : host
        var lines = ["wghub listening on \(scheme)://\(shownHost):\(port)", "public URL \(config.effectivePublicURL)"]
        if let pin = tls?.pin { lines.append("pin \(pin)") }
        lines.append(hub.agent.info.map { "agent \($0.summary)" } ?? "agent: none served (--agent-binary FILE)")
        lines.append("interface \(hub.sync.control.interfaceName), pool \(config.pool), hub public key \(hub.hubPublicKey)")
        lines.append("history \(config.history ? "on" : "off (--no-history)"), alerts \(config.alerts.enabled ? "on" : "off (--no-alerts)")")
        lines.append("limits: \(config.connections.maxConnections) connections (\(config.connections.maxConnectionsPerAddress) per IP), "
            + "timeouts handshake \(WGDurations.describe(config.connections.handshakeTimeout)) header \(WGDurations.describe(config.connections.headerTimeout)) "
            + "body \(WGDurations.describe(config.connections.bodyTimeout)) idle \(WGDurations.describe(config.connections.idleTimeout)); "
            + "sending: at least \(Int(config.connections.minSendRate)) B/s over \(WGDurations.describe(config.connections.sendStallTimeout)); "
            + "downloads at once \(config.downloads.total) (\(config.downloads.perAddress) per IP, \(config.downloads.perNetwork) per /24)")
        return lines
    }

    /// The application, as in Hummingbird's examples (for tests that run it as a service).
    public func buildApplication(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        try WGHub.buildApplication(hub: hub, tls: tls, onRunning: onRunning)
    }

    /// Runs until SIGTERM / SIGINT, printing the announcement to `output` once listening.
    public func run(output: WGOutput) async throws {
        try await runServer(hub: hub, tls: tls, gracefulShutdown: gracefulShutdown) { [self] port in
            output.text(announcement(port: port).joined(separator: "\n") + "\n")
        }
    }

    public static func parseListen(_ s: String) throws -> (String, Int) {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else {
            throw WGServeOptionError("--listen \"\(s)\": expected ADDR:PORT, e.g. 0.0.0.0:8443 or [::]:8443")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard (try? WGIPAddress(host)) != nil || host == "localhost" else {
            throw WGServeOptionError("--listen \"\(s)\": \"\(host)\" is not an IP address")
        }
        return (host, port)
    }
}
