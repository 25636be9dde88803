import WGAgent
import WGProvision

/// The port-forward check `enroll` and `apply` run once after enrollment when the profile expects inbound
/// connections (it has a listen port). Informational: the tunnel works without a forward, since the site dials out.
enum PortCheckOnce {
    static func run(host: WGHost, enrollment: WGEnrollment, spec: WGSpec) {
        guard spec.expectsInbound, let port = spec.listenPort else { return }
        print("  port      asking the hub for a probe to UDP \(port) (is it forwarded to this machine?) …")
        do {
            let r = try WGPortChecker.runForEnrollment(host: host, enrollment: enrollment, port: port)
            print("  port      UDP \(port): \(r.verdict.rawValue) (probe sent to \(r.sentTo))")
            for c in r.causes.prefix(2) { print("            - \(c)") }
            if r.verdict != .forwarded {
                print("            the tunnel does not need it (this site dials out); inbound peers do. Check again: `wgagent check-port`")
            }
        } catch {
            print("  port      not checked: \(error). Try later: `wgagent check-port`")
        }
    }
}
