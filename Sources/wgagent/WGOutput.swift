#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGAgent
import WGProvision

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Straight to fd 2 (FileHandle is full Foundation's).
func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}

/// Human and JSON output. Reports go to stdout; progress and errors to stderr.
enum WGOutput {
    static func error(_ message: String) {
        writeStderr("wgagent: error: \(message)\n")
    }

    static func progress(_ line: String) {
        writeStderr("  … \(line)\n")
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
            print("  \(status.wgPadded(8)) \(r.name.wgPadded(17)) \(r.reason)")
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
            print("  \(f.verdict.rawValue.wgPadded(8)) \(f.check.wgPadded(16)) \(f.detail)")
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
        return "'" + s.replacing("'", with: "'\\''") + "'"
    }
}
