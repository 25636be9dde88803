import Foundation
import XCTest

/// Runs a program by argv (never through a shell) and captures its output.
struct WGRun {
    let status: Int32
    let stdout: String
    let stderr: String

    @discardableResult
    static func run(_ argv: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> WGRun {
        // A child that exits without reading stdin must not kill the test runner.
        signal(SIGPIPE, SIG_IGN)
        // Output goes to files, not pipes: `wg-quick up` leaves wireguard-go running with our
        // stdout/stderr inherited, so a pipe would never reach end-of-file.
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("wgrun-\(getpid())-\(UUID().uuidString).out")
        let errURL = dir.appendingPathComponent("wgrun-\(getpid())-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = input
        try p.run()
        try out.close()
        try err.close()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Bounded wait: a hung child (ours, by PID) is stopped after 60 s.
        var waited = 0
        while p.isRunning && waited < 600 { usleep(100_000); waited += 1 }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            throw WGRunTimeout(argv: argv)
        }
        let o = try Data(contentsOf: outURL), e = try Data(contentsOf: errURL)
        return WGRun(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
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

struct WGRunTimeout: Error, CustomStringConvertible {
    let argv: [String]
    var description: String { "\(argv.joined(separator: " ")) did not finish within 60 s and was stopped" }
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
