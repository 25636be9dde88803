import Foundation
import XCTest
import WGProcess

/// Runs a program by argv (never through a shell) and captures its output: WGCommand, the runner agent and hub
/// use. The wireguard-go daemon that `wg-quick up` leaves behind keeps stdout and stderr open; WGCommand stops
/// reading when the child has exited, so these tests are also the proof that a daemon cannot hang the runner.
struct WGRun {
    let status: Int32
    let stdout: String
    let stderr: String

    @discardableResult
    static func run(_ argv: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> WGRun {
        // Bounded: a hung child is stopped after 60 s (WGCommandError.timedOut).
        let r = try WGCommand(argv, input: stdin.map { Array($0.utf8) }, environment: ProcessInfo.processInfo.environment,
                              timeout: .seconds(60)).run()
        return WGRun(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    /// Like `run` but fails the test on a non-zero exit, showing stderr.
    static func must(_ argv: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try run(argv, stdin: stdin)
        guard r.status == 0 else {
            XCTFail("\(argv.joined(separator: " ")) exited \(r.status): \(r.stderr)", file: file, line: line)
            throw XCTSkip("command failed")
        }
        return r.stdout
    }
}

enum WGTestEnv {
    static func tool(_ name: String) -> String? {
        for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Tools a test needs: skip loudly, or fail when CI=true (CI must not silently lose oracles).
    static func require(_ names: [String], root: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> [String: String] {
        var found: [String: String] = [:]
        var missing: [String] = []
        for n in names { if let p = tool(n) { found[n] = p } else { missing.append(n) } }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("missing \(missing.joined(separator: ", ")) (apt-get install wireguard-tools wireguard-go iproute2)") }
        if root && geteuid() != 0 { problems.append("needs root (network namespaces, wg-quick)") }
        if !problems.isEmpty {
            let msg = "ORACLE TEST NOT RUN: " + problems.joined(separator: "; ")
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail(msg, file: file, line: line)
            }
            throw XCTSkip(msg)
        }
        return found
    }

    /// A fresh private temp directory, removed by the caller's defer.
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wgmodel-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return dir
    }
}
