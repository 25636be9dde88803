import ArgumentParser
import Foundation
import Logging
import WGHub
import WGModel

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the hub: HTTPS API, dashboard and /metrics, keeping the WireGuard interface in step with the store.")

    @Option(help: "Address and port to listen on, ADDR:PORT ([ADDR]:PORT for IPv6).")
    var listen: String = "0.0.0.0:8443"
    @OptionGroup var data: DataOptions
    @Option(help: "The hub's WireGuard interface.")
    var interface: String = "wg0"
    @Option(help: "HOST:PORT of the hub's WireGuard interface as agents reach it.")
    var endpoint: String
    @Option(help: "Tunnel address pool, e.g. 192.0.2.0/24; the hub has the first address.")
    var pool: String
    @Option(help: "PEM certificate (chain) to serve instead of the self-signed one.")
    var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?
    @Flag(help: "Serve plain HTTP (no TLS). Only behind something that adds TLS, or on a tunnel address.")
    var insecureHTTP = false
    @Option(help: "URL agents use, printed in `wgagent enroll` lines (default: https://ENDPOINT-HOST:LISTEN-PORT).")
    var publicURL: String?
    @Flag(help: "Run without a WireGuard interface (development, benchmarks); needs --hub-public-key.")
    var noInterface = false
    @Option(help: "The hub's WireGuard public key, with --no-interface.")
    var hubPublicKey: String?
    @Option(help: "PersistentKeepalive handed to agents, seconds.")
    var keepalive: Int = 25
    @Option(help: "A site whose handshake or report is older than this is stale (e.g. 180s, 3m).")
    var staleAfter: String = "3m"
    @Option(help: "A site whose handshake and report are both older than this is offline.")
    var offlineAfter: String = "10m"
    @Option(help: "Health reports kept per site.")
    var retention: Int = 100
    @Option(help: "Largest request body, bytes.")
    var maxBody: Int = 64 * 1024
    @Option(help: "Failed enrollments per source address in 5 minutes before 429.")
    var enrollFailureLimit: Int = 10
    @Option(help: "Most health reports committed in one transaction (1 = one transaction each; for comparisons).")
    var healthBatch: Int = 256
    @Flag(help: "Serve / and /metrics without the admin token.")
    var openDashboard = false
    @Option(help: "Most connections open at once; the excess is closed at accept. Capped below the open-file limit.")
    var maxConnections: Int = 4096
    @Option(help: "Most connections open at once from one IP address.")
    var maxConnectionsPerIp: Int = 128
    @Option(help: "Time a client has for the TLS handshake.")
    var handshakeTimeout: String = "10s"
    @Option(help: "Time a client has to send a request's head (line and headers): cuts slowloris.")
    var headerTimeout: String = "10s"
    @Option(help: "Time a client has to send a request's body.")
    var bodyTimeout: String = "30s"
    @Option(help: "Time a kept-alive connection may wait for its next request.")
    var idleTimeout: String = "60s"
    @Option(help: "Time open requests get to finish after SIGTERM before they are cut.")
    var shutdownTimeout: String = "5s"
    @Option(help: "Refused credentials or admin tokens per IP address in 5 minutes before 429.")
    var authFailureLimit: Int = 30
    @Option(help: "Failed enrollments from all addresses in 5 minutes before only valid tokens are answered.")
    var enrollFailureGlobalLimit: Int = 300
    @Option(help: "Port-forward probes per site per minute.")
    var probeLimit: Int = 6
    @Option(help: "Widest IPv4 LAN a site may have routed, as a prefix length (16 = a /16 at most).")
    var shortestLanPrefix: Int = 16
    @Option(help: "Widest IPv6 LAN a site may have routed, as a prefix length.")
    var shortestLanPrefix6: Int = 48
    @Option(help: "A problem (offline, port forward closed, failing check, second machine) must last this long before its incident opens and is notified.")
    var alertGrace: String = "2m"
    @Option(help: "A cleared incident resolves after staying clear this long; back within it is a flap, said in the resolved message, not paged again (0 = at once).")
    var alertHoldDown: String = "2m"
    @Flag(help: "Open an offline incident for a stale site too (handshake or report older than --stale-after).")
    var alertOnStale = false
    @Option(help: "How often incidents are evaluated and the alert outbox is sent.")
    var alertInterval: String = "5s"
    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "wghub")
        let (host, port) = try Self.parseListen(listen)
        let addressPool: WGAddressPool
        do { addressPool = try WGAddressPool(pool) } catch { throw ValidationError("\(error)") }
        do { _ = try WGEndpoint(endpoint) } catch { throw ValidationError("--endpoint: \(error)") }
        guard let stale = WGDurations.parse(staleAfter), let offline = WGDurations.parse(offlineAfter), offline >= stale else {
            throw ValidationError("--stale-after / --offline-after: durations like 180s, 3m, 1h; offline-after must not be shorter")
        }
        func seconds(_ flag: String, _ text: String) throws -> TimeInterval {
            guard let v = WGDurations.parse(text) else { throw ValidationError("--\(flag) \"\(text)\": a duration like 10s or 2m") }
            return v
        }
        guard maxConnections >= 1, maxConnectionsPerIp >= 1 else { throw ValidationError("--max-connections and --max-connections-per-ip must be at least 1") }
        guard (1...32).contains(shortestLanPrefix), (1...128).contains(shortestLanPrefix6) else {
            throw ValidationError("--shortest-lan-prefix is 1…32, --shortest-lan-prefix6 1…128")
        }
        let connectionCap = WGOpenFileLimit.connectionCap(wanted: maxConnections, logger: logger)
        var settings = WGHubConfiguration(
            listenHost: host, listenPort: port, dataDirectory: data.data, endpoint: endpoint, pool: addressPool,
            tlsCertificatePath: tlsCert, tlsKeyPath: tlsKey, insecureHTTP: insecureHTTP, publicURL: publicURL,
            keepalive: keepalive, thresholds: .init(staleAfter: stale, offlineAfter: offline), retention: retention,
            maxBodyBytes: maxBody, enrollFailureLimit: enrollFailureLimit, openDashboard: openDashboard,
            healthBatch: healthBatch)
        settings.connections = WGConnectionLimits(
            handshakeTimeout: try seconds("handshake-timeout", handshakeTimeout), headerTimeout: try seconds("header-timeout", headerTimeout),
            bodyTimeout: try seconds("body-timeout", bodyTimeout), idleTimeout: try seconds("idle-timeout", idleTimeout),
            maxConnections: connectionCap, maxConnectionsPerAddress: maxConnectionsPerIp)
        settings.authFailureLimit = authFailureLimit
        settings.enrollFailureGlobalLimit = enrollFailureGlobalLimit
        settings.probeLimit = probeLimit
        settings.shortestLANPrefix4 = shortestLanPrefix
        settings.shortestLANPrefix6 = shortestLanPrefix6
        settings.alerts.grace = alertGrace == "0" ? 0 : try seconds("alert-grace", alertGrace)
        settings.alerts.holdDown = alertHoldDown == "0" ? 0 : try seconds("alert-hold-down", alertHoldDown)
        settings.alerts.interval = try seconds("alert-interval", alertInterval)
        settings.alerts.onStale = alertOnStale
        let config = settings
        let shutdown = try seconds("shutdown-timeout", shutdownTimeout)

        let control: any WGInterfaceControl
        if noInterface {
            guard let k = hubPublicKey, let key = try? WGKey(base64: k) else {
                throw ValidationError("--no-interface needs --hub-public-key KEY (44 base64 characters, from `wg pubkey`)")
            }
            control = WGNoInterfaceControl(publicKey: key)
        } else {
            control = WGCommandControl(interface: interface)
        }
        let store = try WGHubStore.open(dataDirectory: data.data)
        let hub = try WGHubService(config: config, store: store, control: control, logger: logger)
        try await hub.reconcile()

        var tls: WGTLSIdentity?
        if !insecureHTTP {
            let identity = try WGTLSIdentity.loadOrCreate(
                dataDirectory: data.data, certificatePath: tlsCert, keyPath: tlsKey, hostNames: config.certificateHostNames)
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
        try store.setMeta("shortest_lan_prefix", "\(shortestLanPrefix),\(shortestLanPrefix6)")

        let pin = tls?.pin
        try await runServer(hub: hub, tls: tls, gracefulShutdown: .milliseconds(Int64(shutdown * 1000))) { bound in
            let scheme = config.insecureHTTP ? "http" : "https"
            let shownHost = host.contains(":") ? "[\(host)]" : host
            var lines = ["wghub listening on \(scheme)://\(shownHost):\(bound)", "public URL \(config.effectivePublicURL)"]
            if let pin { lines.append("pin \(pin)") }
            lines.append("interface \(control.interfaceName), pool \(config.pool), hub public key \(hub.hubPublicKey)")
            lines.append("limits: \(config.connections.maxConnections) connections (\(config.connections.maxConnectionsPerAddress) per IP), "
                + "timeouts handshake \(WGDurations.describe(config.connections.handshakeTimeout)) header \(WGDurations.describe(config.connections.headerTimeout)) "
                + "body \(WGDurations.describe(config.connections.bodyTimeout)) idle \(WGDurations.describe(config.connections.idleTimeout))")
            // Unbuffered: whoever waits for these lines on a pipe sees them at once.
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
    }

    static func parseListen(_ s: String) throws -> (String, Int) {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen \"\(s)\": expected ADDR:PORT, e.g. 0.0.0.0:8443 or [::]:8443")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard (try? WGIPAddress(host)) != nil || host == "localhost" else {
            throw ValidationError("--listen \"\(s)\": \"\(host)\" is not an IP address")
        }
        return (host, port)
    }
}
