import ArgumentParser
import Logging
import WGHub
import WGModel

struct ServeCommand: WGHubRunnable {
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
    @Option(help: ArgumentHelp(
        "An agent binary to hand out at GET /v1/agent/ARCH (repeatable: one per architecture, x86_64 and aarch64, read from its ELF header). Default: the wgagent beside this wghub, else /usr/local/bin/wgagent.",
        valueName: "FILE"))
    var agentBinary: [String] = []
    @Option(help: "Agent downloads per IP address per minute (GET /v1/agent/ARCH).")
    var agentDownloadLimit: Int = 10
    @Option(help: "Agent downloads sent at once; beyond it 503 with Retry-After.")
    var maxDownloads: Int = 32
    @Option(help: "Agent downloads sent at once to one IP address.")
    var maxDownloadsPerIp: Int = 4
    @Option(help: "Agent downloads sent at once to one /24 (IPv6: /64).")
    var maxDownloadsPerNetwork: Int = 16
    @Option(help: "While an answer is sent, the least a client must take, bytes a second over --send-stall-timeout (slow links get the agent; a reader that stopped is cut).")
    var minSendRate: Int = 1024
    @Option(help: "The window --min-send-rate is judged over.")
    var sendStallTimeout: String = "60s"
    @Option(help: "A problem (offline, port forward closed, failing check, second machine) must last this long before its incident opens and is notified.")
    var alertGrace: String = "2m"
    @Option(help: "A cleared incident resolves after staying clear this long; back within it is a flap, said in the resolved message, not paged again (0 = at once).")
    var alertHoldDown: String = "2m"
    @Flag(help: "Open an offline incident for a stale site too (handshake or report older than --stale-after).")
    var alertOnStale = false
    @Option(help: "How often incidents are evaluated and the alert outbox is sent.")
    var alertInterval: String = "5s"
    @Flag(help: "Evaluate no incidents and send no notifications (receivers and `wghub alert test` still work).")
    var noAlerts = false
    @Flag(help: "Write no per-site history (the site page's charts); rows already kept are still pruned by age.")
    var noHistory = false
    @Option(help: ArgumentHelp(
        "A reverse proxy (address or CIDR; repeatable) whose X-Forwarded-For names the client: only a connection from one of them is believed, and the right-most address that is not a trusted proxy counts (limits, logs, observed address).",
        valueName: "CIDR"))
    var trustedProxy: [String] = []
    @Flag(help: "Accept webhook receivers on loopback, link-local (169.254/16, fe80::/10), unspecified, multicast or this hub's own addresses through the admin API (refused by default: the hub would post to itself or a metadata service).")
    var allowPrivateReceivers = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    var serveOptions: WGServeOptions {
        var o = WGServeOptions(endpoint: endpoint, pool: pool)
        o.listen = listen
        o.dataDirectory = data.data
        o.interface = interface
        o.tlsCert = tlsCert
        o.tlsKey = tlsKey
        o.insecureHTTP = insecureHTTP
        o.publicURL = publicURL
        o.noInterface = noInterface
        o.hubPublicKey = hubPublicKey
        o.keepalive = keepalive
        o.staleAfter = staleAfter
        o.offlineAfter = offlineAfter
        o.retention = retention
        o.maxBody = maxBody
        o.enrollFailureLimit = enrollFailureLimit
        o.healthBatch = healthBatch
        o.openDashboard = openDashboard
        o.maxConnections = maxConnections
        o.maxConnectionsPerIP = maxConnectionsPerIp
        o.handshakeTimeout = handshakeTimeout
        o.headerTimeout = headerTimeout
        o.bodyTimeout = bodyTimeout
        o.idleTimeout = idleTimeout
        o.shutdownTimeout = shutdownTimeout
        o.authFailureLimit = authFailureLimit
        o.enrollFailureGlobalLimit = enrollFailureGlobalLimit
        o.probeLimit = probeLimit
        o.shortestLANPrefix4 = shortestLanPrefix
        o.shortestLANPrefix6 = shortestLanPrefix6
        o.agentBinaries = agentBinary
        o.agentDownloadLimit = agentDownloadLimit
        o.maxDownloads = maxDownloads
        o.maxDownloadsPerIP = maxDownloadsPerIp
        o.maxDownloadsPerNetwork = maxDownloadsPerNetwork
        o.minSendRate = minSendRate
        o.sendStallTimeout = sendStallTimeout
        o.alertGrace = alertGrace
        o.alertHoldDown = alertHoldDown
        o.alertOnStale = alertOnStale
        o.alertInterval = alertInterval
        o.noAlerts = noAlerts
        o.noHistory = noHistory
        o.trustedProxies = trustedProxy
        o.allowPrivateReceivers = allowPrivateReceivers
        return o
    }

    func run(_ ctx: WGHubCLIContext) async throws {
        let logger = ctx.logger(Logger.Level(rawValue: logLevel) ?? .info)
        let server: WGHubServer
        do {
            server = try await WGHubServer.prepare(serveOptions, logger: logger)
        } catch let e as WGServeOptionError {
            throw ValidationError(e.description)
        }
        try await server.run(output: ctx.output)
    }
}
