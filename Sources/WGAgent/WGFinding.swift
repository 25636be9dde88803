import WGModel

/// One doctor finding: what was checked, the verdict, what was seen, and what to do about it.
public struct WGFinding: Codable, Sendable, Equatable {
    public enum Verdict: String, Codable, Sendable, Comparable {
        case ok, unknown, warning, problem
        var rank: Int { switch self { case .ok: 0; case .unknown: 1; case .warning: 2; case .problem: 3 } }
        public static func < (a: Verdict, b: Verdict) -> Bool { a.rank < b.rank }
    }

    /// A stable name: forwarding, firewall-routed, nat-egress, handshake, endpoint-dns, return-route, service, key-modes.
    public var check: String
    public var verdict: Verdict
    /// What was seen.
    public var detail: String
    /// What to do; nil when nothing is to be done.
    public var fix: String?

    public init(_ check: String, _ verdict: Verdict, _ detail: String, fix: String? = nil) {
        self.check = check
        self.verdict = verdict
        self.detail = detail
        self.fix = fix
    }

    /// For the health report: ok unless a warning or a problem.
    public var healthCheck: WGHealthCheck {
        WGHealthCheck(name: check, ok: verdict == .ok || verdict == .unknown,
                      detail: fix.map { "\(detail); fix: \($0)" } ?? detail)
    }
}
