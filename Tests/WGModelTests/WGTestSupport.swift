import Foundation
import XCTest

/// Runs a program by argv (never through a shell) and captures its output.
struct WGRun {
    let status: Int32
    let stdout: String
    let stderr: String

    /// posix_spawn + waitpid rather than Foundation.Process: Process watches for the child's exit
    /// through an inherited socket, and the wireguard-go daemon that `wg-quick up` leaves behind
    /// keeps that socket open, so Process never sees wg-quick end. Output goes to files for the
    /// same reason (a pipe would never reach end-of-file), and fds above 2 are closed in the child.
    @discardableResult
    static func run(_ argv: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> WGRun {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("wgrun-\(getpid())-\(UUID().uuidString)").path
        let paths = (input: base + ".in", out: base + ".out", err: base + ".err")
        _ = FileManager.default.createFile(atPath: paths.input, contents: Data((stdin ?? "").utf8), attributes: [.posixPermissions: 0o600])
        defer { for p in [paths.input, paths.out, paths.err] { try? FileManager.default.removeItem(atPath: p) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, paths.input, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, paths.out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, paths.err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        closeInheritedFDs(&actions)

        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ)
        guard rc == 0 else { throw WGSpawnError(argv: argv, errno: rc) }

        // Bounded wait: a hung child (ours, by PID) is stopped after 60 s.
        var status: Int32 = 0
        var waited = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if waited >= 600 {
                kill(pid, SIGTERM)
                waitpid(pid, &status, 0)
                throw WGSpawnError(argv: argv, errno: ETIMEDOUT)
            }
            usleep(100_000)
            waited += 1
        }
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let o = (try? Data(contentsOf: URL(fileURLWithPath: paths.out))) ?? Data()
        let e = (try? Data(contentsOf: URL(fileURLWithPath: paths.err))) ?? Data()
        return WGRun(status: exit, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// glibc ≥ 2.34 has addclosefrom_np but Swift's Glibc module does not export it: look it up,
    /// else close every fd /proc/self/fd lists.
    private static func closeInheritedFDs(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let sym = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(sym, to: CloseFrom.self)(&actions, 3)
            return
        }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in fds.compactMap(Int32.init) where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
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

struct WGSpawnError: Error, CustomStringConvertible {
    let argv: [String]
    let errno: Int32
    var description: String {
        errno == ETIMEDOUT ? "\(argv.joined(separator: " ")) did not finish within 60 s and was stopped"
            : "cannot start \(argv[0]) (errno \(errno)): is it installed and executable?"
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
