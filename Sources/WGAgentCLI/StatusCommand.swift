import ArgumentParser
import WGAgent

struct StatusCommand: WGAgentRunnable {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the enrollment, the tunnel (peers, handshakes, bytes), the spool, and the doctor's findings."
    )

    @Flag(help: "One JSON object: {enrolled, hub_url, site_id, address, report, spool: {waiting, dropped}, findings}.")
    var json = false

    func run(_ ctx: WGAgentCLIContext) throws {
        WGStatusView.show(try ctx.machine(requireEnrollment: false), json: json, output: ctx.output, now: ctx.now())
    }
}
