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
        let config = WGHubConfiguration(
            listenHost: host, listenPort: port, dataDirectory: data.data, endpoint: endpoint, pool: addressPool,
            tlsCertificatePath: tlsCert, tlsKeyPath: tlsKey, insecureHTTP: insecureHTTP, publicURL: publicURL,
            keepalive: keepalive, thresholds: .init(staleAfter: stale, offlineAfter: offline), retention: retention,
            maxBodyBytes: maxBody, enrollFailureLimit: enrollFailureLimit, openDashboard: openDashboard,
            healthBatch: healthBatch)

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

        let pin = tls?.pin
        try await runServer(hub: hub, tls: tls) { bound in
            let scheme = config.insecureHTTP ? "http" : "https"
            let shownHost = host.contains(":") ? "[\(host)]" : host
            var lines = ["wghub listening on \(scheme)://\(shownHost):\(bound)", "public URL \(config.effectivePublicURL)"]
            if let pin { lines.append("pin \(pin)") }
            lines.append("interface \(control.interfaceName), pool \(config.pool), hub public key \(hub.hubPublicKey)")
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
