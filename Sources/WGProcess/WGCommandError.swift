/// Why a command did not give an answer, or gave a failing one. Each message names the argv and the way out.
public enum WGCommandError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No executable of that name in `WGCommand.searchPath`.
    case notFound(argv: [String])
    /// posix_spawn (or the pipes around it) failed.
    case cannotStart(argv: [String], reason: String)
    /// It ran and exited non-zero (thrown by the callers that need success: `WGCommandResult` is the normal answer).
    case failed(argv: [String], status: Int32, stderr: String)
    /// It outlived its timeout and was killed.
    case timedOut(argv: [String], seconds: Double)

    public var argv: [String] {
        switch self {
        case .notFound(let a), .cannotStart(let a, _), .failed(let a, _, _), .timedOut(let a, _): return a
        }
    }

    /// The exit status where there was one (-1 when the command never ran to an end).
    public var status: Int32 {
        if case .failed(_, let status, _) = self { return status }
        return -1
    }

    public var stderr: String {
        switch self {
        case .failed(_, _, let stderr): return stderr
        case .timedOut(_, let seconds): return "no answer within \(Int(seconds)) s: terminated"
        case .cannotStart(_, let reason): return reason
        case .notFound: return "command not found"
        }
    }

    public var description: String {
        switch self {
        case .notFound(let argv):
            return "command not found: \(argv.first ?? "") (install the package that provides it, or check PATH)"
        case .cannotStart(let argv, let reason):
            return "cannot run \(argv.first ?? ""): \(reason)"
        case .failed(let argv, let status, let stderr):
            // The last lines say why; one line keeps a plan's report readable.
            let tail = stderr.split(separator: "\n").map { $0.trimmingCharacters(in: [" ", "\t", "\r"]) }
                .filter { !$0.isEmpty }.suffix(4).joined(separator: " | ")
            return "`\(argv.joined(separator: " "))` exited \(status): \(tail)"
        case .timedOut(let argv, let seconds):
            return "`\(argv.joined(separator: " "))` gave no answer within \(Int(seconds)) s and was stopped"
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
