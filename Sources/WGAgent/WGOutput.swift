#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// The agent's human and JSON output. Reports go to stdout; progress and errors to stderr.
extension WGOutput {
    public func error(_ message: String) {
        errorLine("wgagent: error: \(message)")
    }

    public func progress(_ line: String) {
        errorLine("  … \(line)")
    }

    public func header(_ spec: WGSpec, _ facts: WGFacts, dryRun: Bool) {
        var parts = [facts.os.prettyName, facts.initSystem.name]
        parts.append("egress \(facts.egressInterface ?? "none")")
        parts.append(facts.kernelWireGuard ? "kernel WireGuard" : "no kernel WireGuard: wireguard-go")
        if facts.isQEMU { parts.append("QEMU/Proxmox") }
        line("wgagent \(dryRun ? "plan" : "apply"): profile \(spec.profileName) on \(parts.joined(separator: " · "))")
    }

    public func summary(_ report: WGRunReport) {
        for r in report.resources {
            let status = r.status == .pending ? "change" : r.status.rawValue
            line("  \(status.wgPadded(8)) \(r.name.wgPadded(17)) \(r.reason)")
            if report.dryRun || r.status == .failed {
                for c in r.changes {
                    line("           - \(c.summary)")
                    if let argv = c.argv { line("             $ \(argv.map(Self.shellQuote).joined(separator: " "))") }
                    if let diff = c.diff, !diff.isEmpty {
                        for l in diff.split(separator: "\n", omittingEmptySubsequences: false) where !l.isEmpty {
                            line("             \(l)")
                        }
                    }
                }
            }
            if let e = r.error { line("           error: \(e)") }
        }
        let verb = report.dryRun ? "to change" : "changed"
        line("\(verb) \(report.changed), ok \(report.ok), failed \(report.failed)")
        if !report.converged {
            let done = report.resources.filter { $0.status == .changed || $0.status == .ok }.map(\.name)
            let left = report.resources.filter { $0.status == .failed || $0.status == .skipped }.map(\.name)
            line("not converged. done: \(done.joined(separator: ", ")); remaining: \(left.joined(separator: ", ")).")
            line("fix the error above and run the same command again: it continues where it stopped.")
        }
    }

    public func findings(_ findings: [WGFinding]) {
        for f in findings {
            line("  \(f.verdict.rawValue.wgPadded(8)) \(f.check.wgPadded(16)) \(f.detail)")
            if let fix = f.fix, f.verdict != .ok { line("           fix: \(fix)") }
        }
        let problems = findings.filter { $0.verdict == .problem }.count, warnings = findings.filter { $0.verdict == .warning }.count
        line(problems + warnings == 0 ? "no problems found" : "\(problems) problem(s), \(warnings) warning(s)")
    }

    public func printJSON<T: Encodable>(_ value: T) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let data = try? enc.encode(value) { line(String(decoding: data, as: UTF8.self)) }
    }

    /// For display only: commands are run as argv, never through a shell.
    public static func shellQuote(_ s: String) -> String { WGText.shellQuoted(s) }
}
