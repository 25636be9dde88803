import Foundation

/// wghub's own counters, rendered with the per-peer figures in Prometheus text format.
public final class WGHubMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [String: Int] = [:]  // "method|route|code"
    private var refusals: [String: Int] = [:]  // reason
    private var counters: [String: Int] = [:]  // name
    private var labelled: [String: [String: Int]] = [:]  // name -> "label=value" -> count

    public init() {}

    public func request(method: String, route: String, code: Int) {
        lock.withLock { requests["\(method)|\(route)|\(code)", default: 0] += 1 }
    }

    public func refusal(_ reason: String) { lock.withLock { refusals[reason, default: 0] += 1 } }

    public func count(_ name: String, by n: Int = 1) { lock.withLock { counters[name, default: 0] += n } }

    /// A counter with one label, e.g. `wghub_alerts_sent_total{channel="smtp"}`.
    public func count(_ name: String, label: String, _ value: String, by n: Int = 1) {
        lock.withLock { labelled[name, default: [:]]["\(label)=\"\(Self.escape(value))\"", default: 0] += n }
    }

    public func value(_ name: String, label: String, _ value: String) -> Int {
        lock.withLock { labelled[name]?["\(label)=\"\(Self.escape(value))\""] ?? 0 }
    }

    public func value(_ name: String) -> Int { lock.withLock { counters[name] ?? 0 } }
    public func refusals(_ reason: String) -> Int { lock.withLock { refusals[reason] ?? 0 } }
    public var totalRefusals: Int { lock.withLock { refusals.values.reduce(0, +) } }

    static let help: [String: String] = [
        "wghub_enrollments_total": "Successful enrollments (new sites and re-enrollments).",
        "wghub_health_reports_total": "Health reports stored.",
        "wghub_health_duplicates_total": "Health reports acknowledged without storing (sequence number already stored).",
        "wghub_probes_sent_total": "Port-forward probe datagrams sent.",
        "wghub_probe_results_total": "Port-forward probe results received.",
        "wghub_sites_deleted_total": "Sites deleted through the admin API.",
        "wghub_signins_total": "Browser sign-ins with an admin token.",
        "wghub_signins_refused_total": "Browser sign-ins refused (unknown, revoked or expired admin token, or rate-limited).",
        "wghub_csrf_refused_total": "Browser forms refused for a missing or foreign CSRF token.",
        "wghub_tokens_created_total": "Enrollment tokens created through the admin API or the browser.",
        "wghub_tokens_revoked_total": "Tokens revoked through the admin API or the browser.",
        "wghub_interface_errors_total": "Failed wg/ip commands.",
        "wghub_connections_total": "Connections admitted.",
        "wghub_connections_timed_out_total": "Connections closed for being too slow (TLS handshake, request head or body, or taking an answer slower than --min-send-rate).",
        "wghub_connections_idle_closed_total": "Kept-alive connections closed after the idle timeout.",
        "wghub_lan_grant_changes_total": "LAN grant changes through the admin API.",
        "wghub_agent_downloads_total": "Agent binaries sent (GET /v1/agent/{arch}); refused ones are in wghub_refusals_total{reason=\"agent_auth_…\"}.",
        "wghub_agent_download_bytes_total": "Bytes of agent binaries written to clients (compressed where sent gzip).",
        "wghub_agent_downloads_completed_total": "Agent downloads whose last byte was written.",
        "wghub_agent_downloads_resumed_total": "Agent downloads that resumed a cut one (Range, 206).",
        "wghub_agent_downloads_gzip_total": "Agent downloads sent gzip-compressed.",
    ]

    static let labelledHelp: [String: String] = [
        "wghub_alerts_sent_total": "Alert notifications a receiver acknowledged, by channel.",
        "wghub_alerts_failed_total": "Alert delivery attempts that failed (each is retried until given up), by channel.",
    ]

    func render(into out: inout String) {
        let (req, ref, cnt, lab) = lock.withLock { (requests, refusals, counters, labelled) }
        out += "# HELP wghub_http_requests_total HTTP requests by method, route and status code.\n"
        out += "# TYPE wghub_http_requests_total counter\n"
        for (k, v) in req.sorted(by: { $0.key < $1.key }) {
            let p = k.split(separator: "|", omittingEmptySubsequences: false)
            out += "wghub_http_requests_total{method=\"\(p[0])\",route=\"\(Self.escape(String(p[1])))\",code=\"\(p[2])\"} \(v)\n"
        }
        out += "# HELP wghub_refusals_total Refused requests by reason.\n# TYPE wghub_refusals_total counter\n"
        for (k, v) in ref.sorted(by: { $0.key < $1.key }) { out += "wghub_refusals_total{reason=\"\(Self.escape(k))\"} \(v)\n" }
        for name in Self.help.keys.sorted() {
            out += "# HELP \(name) \(Self.help[name]!)\n# TYPE \(name) counter\n\(name) \(cnt[name] ?? 0)\n"
        }
        for name in Self.labelledHelp.keys.sorted() {
            out += "# HELP \(name) \(Self.labelledHelp[name]!)\n# TYPE \(name) counter\n"
            for (l, v) in (lab[name] ?? [:]).sorted(by: { $0.key < $1.key }) { out += "\(name){\(l)} \(v)\n" }
        }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
