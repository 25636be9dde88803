import Foundation
import WGAgent
import WGProvision

/// Human and JSON output. Reports go to stdout; progress and errors to stderr.
enum WGOutput {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("wgagent: error: \(message)\n".utf8))
    }

    static func progress(_ line: String) {
        FileHandle.standardError.write(Data("  … \(line)\n".utf8))
    }

    static func header(_ spec: WGSpec, _ facts: WGFacts, dryRun: Bool) {
        var parts = [facts.os.prettyName, facts.initSystem.name]
        parts.append("egress \(facts.egressInterface ?? "none")")
        parts.append(facts.kernelWireGuard ? "kernel WireGuard" : "no kernel WireGuard: wireguard-go")
        if facts.isQEMU { parts.append("QEMU/Proxmox") }
        print("wgagent \(dryRun ? "plan" : "apply"): profile \(spec.profileName) on \(parts.joined(separator: " · "))")
    }

    static func summary(_ report: WGRunReport) {
        for r in report.resources {
            let status = r.status == .pending ? "change" : r.status.rawValue
            print("  \(status.padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.name.padding(toLength: 17, withPad: " ", startingAt: 0)) \(r.reason)")
            if report.dryRun || r.status == .failed {
                for c in r.changes {
                    print("           - \(c.summary)")
                    if let argv = c.argv { print("             $ \(argv.map(shellQuote).joined(separator: " "))") }
                    if let diff = c.diff, !diff.isEmpty {
                        for line in diff.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
                            print("             \(line)")
                        }
                    }
                }
            }
            if let e = r.error { print("           error: \(e)") }
        }
        let verb = report.dryRun ? "to change" : "changed"
        print("\(verb) \(report.changed), ok \(report.ok), failed \(report.failed)")
        if !report.converged {
            let done = report.resources.filter { $0.status == .changed || $0.status == .ok }.map(\.name)
            let left = report.resources.filter { $0.status == .failed || $0.status == .skipped }.map(\.name)
            print("not converged. done: \(done.joined(separator: ", ")); remaining: \(left.joined(separator: ", ")).")
            print("fix the error above and run the same command again: it continues where it stopped.")
        }
    }

    static func findings(_ findings: [WGFinding]) {
        for f in findings {
            print("  \(f.verdict.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(f.check.padding(toLength: 16, withPad: " ", startingAt: 0)) \(f.detail)")
            if let fix = f.fix, f.verdict != .ok { print("           fix: \(fix)") }
        }
        let problems = findings.filter { $0.verdict == .problem }.count, warnings = findings.filter { $0.verdict == .warning }.count
        print(problems + warnings == 0 ? "no problems found" : "\(problems) problem(s), \(warnings) warning(s)")
    }

    static func printJSON<T: Encodable>(_ value: T) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let data = try? enc.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }

    /// For display only: commands are run as argv, never through a shell.
    static func shellQuote(_ s: String) -> String {
        if !s.isEmpty && s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:@,+%".contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
