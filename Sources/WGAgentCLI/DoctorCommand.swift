import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGAgent

struct DoctorCommand: WGAgentRunnable {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check forwarding, firewall, NAT, service, handshake, the hub's DNS name, return routes and key modes; say how to fix each.",
        discussion: "Changes nothing. Exit 0 when nothing is a problem, 1 otherwise."
    )

    @Flag(help: "One JSON array of findings: [{check, verdict, detail, fix}].")
    var json = false
    @Option(help: "The WireGuard interface (default: the enrolled one, else wg0).")
    var interface: String?

    func run(_ ctx: WGAgentCLIContext) throws {
        let findings = try ctx.machine(requireEnrollment: false).doctor(interface: interface).run()
        if json {
            ctx.output.printJSON(findings)
        } else {
            ctx.output.findings(findings)
        }
        if findings.contains(where: { $0.verdict == .problem }) { throw ExitCode(1) }
    }
}
