import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGAgent
import WGModel

struct ReportCommand: WGAgentRunnable {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Send health reports to the hub (once, or every --interval seconds as the reporter service does).",
        discussion: """
            Each report is numbered (the number is kept in /var/lib/wgagent/report-seq), stored in the spool \
            (/var/lib/wgagent/spool, at most --spool-limit reports; when full the oldest go and are counted) and the \
            spool is sent in order; a report leaves it when the hub acknowledged it. Failed sends are retried with \
            backoff and jitter. Exit status of --once: 0 delivered, 3 kept in the spool for later.
            """
    )

    @Flag(help: "Make one report, try once to send the spool, and exit.")
    var once = false
    @Option(help: "Report every SECONDS (the daemon).")
    var interval: Double?
    @Option(help: "Most reports kept while the hub cannot be reached.")
    var spoolLimit: Int = 500
    @Flag(help: "Print the report as JSON on stdout.")
    var json = false

    func validate() throws {
        guard once != (interval != nil) else { throw ValidationError("give either --once or --interval SECONDS") }
        if let interval, interval < 1 { throw ValidationError("--interval must be at least 1 second") }
        guard spoolLimit >= 1 else { throw ValidationError("--spool-limit must be at least 1") }
    }

    func run(_ ctx: WGAgentCLIContext) throws {
        let machine = try ctx.machine(requireEnrollment: true)
        let e = machine.enrollment!
        let out = ctx.output
        let reporter: WGReporter
        do {
            reporter = try WGReporter(host: machine.host, enrollment: e, collector: WGHealthCollector(doctor: machine.doctor(interface: nil)),
                                      spoolLimit: spoolLimit)
        } catch {
            out.error("\(error)")
            throw ExitCode(2)
        }
        reporter.log = { out.progress($0) }
        if let interval {
            out.line("wgagent report: every \(Int(interval)) s to \(e.hubURL) as site \(e.siteID.map(String.init) ?? "?")")
            if reporter.run(interval: interval) != nil { throw ExitCode(2) }
            return
        }
        let (report, findings) = try reporter.record()
        if json { out.printJSON(report) }
        let problems = findings.filter { $0.verdict >= .warning }
        switch reporter.flush() {
        case .delivered(let sent):
            if !json { out.line("report \(report.seq) delivered to \(e.hubURL) (\(sent) sent; \(problems.count) finding(s) need attention)") }
        case .pending(let sent, let waiting, let reason):
            out.error("\(reason)")
            if !json { out.line("report \(report.seq) kept in the spool: \(sent) sent, \(waiting) waiting; they go out in order once the hub answers") }
            throw ExitCode(3)
        }
    }
}
