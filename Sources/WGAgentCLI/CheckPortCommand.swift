import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGAgent
import WGModel

struct CheckPortCommand: WGAgentRunnable {
    static let configuration = CommandConfiguration(
        commandName: "check-port",
        abstract: "Ask the hub to send a UDP probe to this site's listen port and say whether the port forward works.",
        discussion: """
            Watches the port with a bound UDP socket while nothing holds it, or with a raw socket (root) while \
            WireGuard holds it; as root it also watches with an AF_PACKET socket, which sees datagrams before the \
            firewall. Verdicts: forwarded; not reaching the VM; reaching the VM but dropped by its firewall. The \
            result is posted to the hub (dashboard) and kept for the health report. Exit status: 0 forwarded, \
            1 otherwise, 2 when the check could not run.
            """
    )

    @Option(help: "UDP port to check (default: ListenPort in wg0.conf, else the enrollment's, else 51820).")
    var port: Int?
    @Option(help: "Seconds to wait for the probe.")
    var timeout: Double = 5
    @Flag(help: "Print the verdict object as JSON.")
    var json = false

    func validate() throws {
        if let port, !(1...65535).contains(port) { throw ValidationError("--port must be 1…65535") }
        guard timeout > 0, timeout <= 120 else { throw ValidationError("--timeout must be more than 0 and at most 120 seconds") }
    }

    func run(_ ctx: WGAgentCLIContext) throws {
        let machine = try ctx.machine(requireEnrollment: true)
        let e = machine.enrollment!
        let port = self.port ?? WGPortChecker.listenPort(host: machine.host, enrollment: e, interface: e.interface)
        let result: WGPortCheckResult
        let out = ctx.output
        do {
            if !json { out.progress("asking \(e.hubURL) for a probe to UDP \(port); watching for \(timeout) s") }
            result = try ctx.portCheck(machine.host, e, port, timeout)
        } catch {
            out.error("\(error)")
            throw ExitCode(2)
        }
        if json {
            out.printJSON(result)
        } else {
            out.line("UDP \(port): \(result.verdict.rawValue) (probe \(result.probeID) sent to \(result.sentTo); watched with \(result.watchedWith); hub stored \(result.hubVerdict ?? "nothing"))")
            for c in result.causes { out.line("  - \(c)") }
        }
        if result.verdict != .forwarded { throw ExitCode(1) }
    }
}
