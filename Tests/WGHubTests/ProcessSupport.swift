import Foundation
import XCTest

/// Runs argv (no shell) with a deadline; the child is killed by PID when it overruns.
@discardableResult
func runCommand(_ argv: [String], timeout: TimeInterval = 60, check: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : which(argv[0]) ?? "/usr/bin/\(argv[0])")
    p.arguments = Array(argv.dropFirst())
    let outURL = URL(fileURLWithPath: NSTemporaryDirectory() + "wghub-run-\(UUID().uuidString).out")
    let errURL = URL(fileURLWithPath: NSTemporaryDirectory() + "wghub-run-\(UUID().uuidString).err")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
    p.standardOutput = try FileHandle(forWritingTo: outURL)
    p.standardError = try FileHandle(forWritingTo: errURL)
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        throw ProcessFailure("`\(argv.joined(separator: " "))` took longer than \(timeout) s and was killed")
    }
    p.waitUntilExit()
    let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    if check && p.terminationStatus != 0 {
        throw ProcessFailure("`\(argv.joined(separator: " "))` exited \(p.terminationStatus): \(err)\(out)")
    }
    return (p.terminationStatus, out, err)
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
