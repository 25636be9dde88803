import Foundation
import XCTest
import WGProcess

/// Runs argv (no shell) with a deadline, through WGCommand (the runner agent and hub use).
@discardableResult
func runCommand(_ argv: [String], timeout: TimeInterval = 60, check: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, out: String, err: String) {
    let r = try WGCommand(argv, environment: ProcessInfo.processInfo.environment, timeout: .milliseconds(Int(timeout * 1000))).run()
    if check && !r.succeeded {
        throw ProcessFailure("`\(argv.joined(separator: " "))` exited \(r.status): \(r.stderr)\(r.stdout)")
    }
    return (r.status, r.stdout, r.stderr)
}

func which(_ name: String) -> String? {
    for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

struct ProcessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A background child (wghub serve, wireguard-go) whose stdout is collected; stopped by PID.
final class Child: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var output = ""
    private let pipe = Pipe()

    init(_ argv: [String], stderrToStdout: Bool = true) throws {
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardOutput = pipe
        process.standardError = stderrToStdout ? pipe : FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.withLock { self.output += String(decoding: d, as: UTF8.self) }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var text: String { lock.withLock { output } }

    /// Waits (bounded) for a line matching `prefix` and returns the rest of it.
    func waitForLine(startingWith prefix: String, timeout: TimeInterval = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            for l in text.split(separator: "\n") where l.hasPrefix(prefix) { return String(l.dropFirst(prefix.count)) }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw ProcessFailure("no line starting with \"\(prefix)\" within \(timeout) s; output:\n\(text)")
    }

    func signal(_ sig: Int32) {
        if process.isRunning { kill(pid, sig) }
    }

    /// SIGTERM, then SIGKILL after `grace`; always reaps.
    func stop(grace: TimeInterval = 10) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
    }
}

var wghubBinary: String? {
    let path = productsDirectory.appendingPathComponent("wghub").path
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}

/// The package root (for lab-out/).
var packageRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
