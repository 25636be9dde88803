import Foundation
import WGModel

/// Online / stale / offline, from the age of the last handshake the hub's interface saw and of the last report.
public enum WGSiteStatus: String, Sendable, Codable, Comparable {
    case offline, stale, online

    /// Worst first.
    public static func < (a: WGSiteStatus, b: WGSiteStatus) -> Bool { a.rank < b.rank }
    var rank: Int { switch self { case .offline: 0; case .stale: 1; case .online: 2 } }
}

public struct WGStatusThresholds: Sendable, Equatable {
    /// Older than this (handshake or report): no longer online.
    public var staleAfter: TimeInterval
    /// Both older than this (or never seen): offline.
    public var offlineAfter: TimeInterval

    public init(staleAfter: TimeInterval = 180, offlineAfter: TimeInterval = 600) {
        self.staleAfter = staleAfter
        self.offlineAfter = offlineAfter
    }

    /// `latestHandshake` in Unix seconds (0 or nil = never).
    public func status(latestHandshake: Int64?, lastReport: Date?, now: Date) -> WGSiteStatus {
        let t = now.timeIntervalSince1970
        let hs: TimeInterval = (latestHandshake ?? 0) > 0 ? max(0, t - Double(latestHandshake!)) : .infinity
        let rep: TimeInterval = lastReport.map { max(0, t - $0.timeIntervalSince1970) } ?? .infinity
        if hs <= staleAfter && rep <= staleAfter { return .online }
        if min(hs, rep) > offlineAfter { return .offline }
        return .stale
    }
}

/// Everything `wghub serve` is told.
public struct WGHubConfiguration: Sendable {
    public var listenHost: String
    public var listenPort: Int
    public var dataDirectory: String
    /// `HOST:PORT` of the hub's WireGuard interface, handed to agents.
    public var endpoint: String
    public var pool: WGAddressPool
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    public var insecureHTTP: Bool
    /// The URL agents use (printed in the `wgagent enroll` line); derived from endpoint host and listen port when nil.
    public var publicURL: String?
    public var keepalive: Int
    public var thresholds: WGStatusThresholds
    /// Health reports kept per site.
    public var retention: Int
    public var maxBodyBytes: Int
    /// Failed enrollments allowed per source address within `enrollFailureWindow` before 429.
    public var enrollFailureLimit: Int
    public var enrollFailureWindow: TimeInterval
    /// `GET /` and `/metrics` without the admin token (e.g. when listening on a tunnel address only).
    public var openDashboard: Bool
    /// Most health reports committed in one transaction (group commit); 1 = one transaction per report.
    public var healthBatch: Int
    /// Timeouts and connection caps (slowloris, idle floods, handshake stalls).
    public var connections: WGConnectionLimits = .init()
    /// Failed enrollments from everywhere within the window before only valid tokens are answered.
    public var enrollFailureGlobalLimit: Int = 300
    /// Refused credentials or admin tokens per source address within the window before 429.
    public var authFailureLimit: Int = 30
    /// Port-forward probes per site per minute.
    public var probeLimit: Int = 6
    /// Agent downloads (`GET /v1/agent/{arch}`) per client address per minute: a leaked token must not make the
    /// hub send megabytes without end.
    public var agentDownloadLimit: Int = 10
    /// Agent downloads sent at once (overall, per address, per /24 or /64).
    public var downloads = WGDownloadLimits()
    /// The widest LAN prefix a site may have routed (shortest prefix length), IPv4 and IPv6.
    public var shortestLANPrefix4: Int = 16
    public var shortestLANPrefix6: Int = 48
    /// Incidents and their notifications (grace, hold-down, retries, timeouts; `enabled` false: --no-alerts).
    public var alerts = WGAlertSettings()
    /// Per-site history from health reports and probes (WGSiteHistory); false (--no-history): no rows written, the
    /// rows kept still pruned by age.
    public var history = true
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`); empty: the TCP peer is the client.
    public var trustedProxies: [WGCIDR] = []

    public init(
        listenHost: String = "0.0.0.0", listenPort: Int = 8443, dataDirectory: String, endpoint: String,
        pool: WGAddressPool, tlsCertificatePath: String? = nil, tlsKeyPath: String? = nil, insecureHTTP: Bool = false,
        publicURL: String? = nil, keepalive: Int = 25, thresholds: WGStatusThresholds = .init(), retention: Int = 100,
        maxBodyBytes: Int = 64 * 1024, enrollFailureLimit: Int = 10, enrollFailureWindow: TimeInterval = 300,
        openDashboard: Bool = false, healthBatch: Int = 256
    ) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.dataDirectory = dataDirectory
        self.endpoint = endpoint
        self.pool = pool
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.insecureHTTP = insecureHTTP
        self.publicURL = publicURL
        self.keepalive = keepalive
        self.thresholds = thresholds
        self.retention = retention
        self.maxBodyBytes = maxBodyBytes
        self.enrollFailureLimit = enrollFailureLimit
        self.enrollFailureWindow = enrollFailureWindow
        self.openDashboard = openDashboard
        self.healthBatch = max(1, healthBatch)
    }

    /// The host names the self-signed certificate should carry.
    public var certificateHostNames: [String] {
        var names: [String] = []
        if let e = try? WGEndpoint(endpoint) { names.append(e.host) }
        if let u = publicURL, let h = URLComponents(string: u)?.host { names.append(h.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) }
        names.append(listenHost)
        return names
    }

    /// The URL agents should use.
    public var effectivePublicURL: String {
        if let publicURL { return publicURL }
        let scheme = insecureHTTP ? "http" : "https"
        var host = listenHost
        if host == "0.0.0.0" || host == "::" { host = (try? WGEndpoint(endpoint))?.host ?? "localhost" }
        return "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(listenPort)"
    }
}
