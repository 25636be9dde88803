import WGModel
import WGProvision

/// Runs a port check for an enrollment: `WGPortChecker.runForEnrollment` (a real UDP probe from the hub) in
/// production; a test answers it.
public typealias WGPortCheckRunner = (_ host: WGHost, _ enrollment: WGEnrollment, _ port: Int, _ timeout: Double) throws -> WGPortCheckResult

extension WGPortChecker {
    public static func live(host: WGHost, enrollment: WGEnrollment, port: Int, timeout: Double) throws -> WGPortCheckResult {
        try runForEnrollment(host: host, enrollment: enrollment, port: port, timeout: timeout)
    }
}

/// The port-forward check `enroll` and `apply` run once after enrollment when the profile expects inbound
/// connections (it has a listen port). Informational: the tunnel works without a forward, since the site dials out.
public enum WGPortCheckOnce {
    public static func run(host: WGHost, enrollment: WGEnrollment, spec: WGSpec, output: WGOutput,
                           check: WGPortCheckRunner = WGPortChecker.live) {
        guard spec.expectsInbound, let port = spec.listenPort else { return }
        output.line("  port      asking the hub for a probe to UDP \(port) (is it forwarded to this machine?) …")
        do {
            let r = try check(host, enrollment, port, 5)
            output.line("  port      UDP \(port): \(r.verdict.rawValue) (probe sent to \(r.sentTo))")
            for c in r.causes.prefix(2) { output.line("            - \(c)") }
            if r.verdict != .forwarded {
                output.line("            the tunnel does not need it (this site dials out); inbound peers do. Check again: `wgagent check-port`")
            }
        } catch {
            output.line("  port      not checked: \(error). Try later: `wgagent check-port`")
        }
    }
}
