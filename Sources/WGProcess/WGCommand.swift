#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One command as data — argv (never a shell string), input, environment, a time bound — and the one way agent,
/// hub and tests run it (swift-subprocess underneath).
public struct WGCommand: Sendable, Equatable {
    public var argv: [String]
    public var input: [UInt8]?
    /// The whole environment of the child (nothing inherited unless put here).
    public var environment: [String: String]
    /// Killed after this long; nil: no bound (package installs on a slow mirror).
    public var timeout: Duration?
    /// Most bytes kept of stdout and of stderr each.
    public var outputLimit: Int

    public init(_ argv: [String], input: [UInt8]? = nil, environment: [String: String] = WGCommand.defaultEnvironment,
                timeout: Duration? = nil, outputLimit: Int = 64 << 20) {
        precondition(!argv.isEmpty, "a command needs an argv[0]")
        self.argv = argv
        self.input = input
        self.environment = environment
        self.timeout = timeout
        self.outputLimit = outputLimit
    }

    /// cloud-init and cron can start us with a PATH that lacks the sbin directories: commands are looked up, and
    /// get, this one (the same order for agent and hub).
    public static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    public static let pathVariable = searchPath.joined(separator: ":")

    /// C locale (output is parsed), no prompts, a known PATH; TERM passed on for progress output.
    public static var defaultEnvironment: [String: String] {
        var env = ["PATH": pathVariable, "LC_ALL": "C", "LANG": "C", "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"]
        if let term = getenv("TERM") { env["TERM"] = String(cString: term) }
        return env
    }

    /// The executable for `name`: a path as given, else the first match in `searchPath`.
    public static func resolve(_ name: String) -> String? {
        if name.contains("/") { return name }
        return searchPath.lazy.map { $0 + "/" + name }.first { access($0, X_OK) == 0 }
    }

    /// Runs it from synchronous code — the agent's commands, the hub's blocking-work threads — and waits.
    /// Never call this from a Swift task: it parks its thread until the child ends (use `runAsync` there).
    /// `onLine` sees each stdout line as it comes (progress); stderr is collected apart.
    public func run(onLine: (@Sendable (String) -> Void)? = nil) throws(WGCommandError) -> WGCommandResult {
        final class Box: @unchecked Sendable { var result: Result<WGCommandResult, WGCommandError>? }
        let box = Box(), done = DispatchSemaphore(value: 0)
        Task.detached {
            do throws(WGCommandError) { box.result = .success(try await self.runAsync(onLine: onLine)) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// Runs it and waits without holding a thread. Bounded by `timeout` when one is set.
    public func runAsync(onLine: (@Sendable (String) -> Void)? = nil) async throws(WGCommandError) -> WGCommandResult {
        guard let exe = Self.resolve(argv[0]) else { throw .notFound(argv: argv) }
        do {
            guard let timeout else { return try await execute(exe, onLine: onLine) }
            return try await withThrowingTaskGroup(of: WGCommandResult?.self) { group in
                group.addTask { try await self.execute(exe, onLine: onLine) }
                group.addTask { try await Task.sleep(for: timeout); return nil }
                let first = try await group.next()!
                group.cancelAll()   // the loser: the sleep, or the child (killed by swift-subprocess on cancellation)
                guard let first else {
                    throw WGCommandError.timedOut(argv: argv, seconds: Double(timeout.components.seconds))
                }
                return first
            }
        } catch let e as WGCommandError {
            throw e
        } catch let e as SubprocessError {
            throw e.code == .executableNotFound ? .notFound(argv: argv) : .cannotStart(argv: argv, reason: "\(e)")
        } catch {
            throw .cannotStart(argv: argv, reason: "\(error)")
        }
    }

    private func execute(_ exe: String, onLine: (@Sendable (String) -> Void)?) async throws -> WGCommandResult {
        let env = Environment.custom(Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(rawValue: $0.key)!, $0.value) }))
        let args = Arguments(Array(argv.dropFirst()))
        // Input is always a pipe, even when empty: swift-subprocess then stops reading output once the child has
        // exited, so a daemon it left behind holding stdout (wg-quick's wireguard-go) cannot keep us waiting.
        let stdin = input ?? []
        if let onLine {
            // Progress: stdout goes to an unlinked scratch file that is followed while the child runs — a pipe would
            // wait for every holder of its write end (a daemon the command started) to close it.
            let fd = try Self.scratchFile()
            defer { close(fd) }
            let follower = Task { await Self.follow(fd, limit: outputLimit, onLine: onLine) }
            let outcome: ExecutionResult<Void, FileDescriptorOutput, BytesOutput>
            do {
                outcome = try await Subprocess.run(.path(FilePath(exe)), arguments: args, environment: env,
                                                   input: .array(stdin),
                                                   output: .fileDescriptor(FileDescriptor(rawValue: fd), closeAfterSpawningProcess: false),
                                                   error: .bytes(limit: outputLimit))
            } catch {
                follower.cancel()
                _ = await follower.value
                throw error
            }
            follower.cancel()
            let stdout = await follower.value
            return WGCommandResult(status: Self.status(outcome.terminationStatus), stdout: stdout,
                                   stderr: String(decoding: outcome.standardError, as: UTF8.self))
        }
        let outcome = try await Subprocess.run(.path(FilePath(exe)), arguments: args, environment: env,
                                               input: .array(stdin), output: .bytes(limit: outputLimit),
                                               error: .bytes(limit: outputLimit))
        return WGCommandResult(status: Self.status(outcome.terminationStatus),
                               stdout: String(decoding: outcome.standardOutput, as: UTF8.self),
                               stderr: String(decoding: outcome.standardError, as: UTF8.self))
    }

    /// An open, already unlinked file in /tmp (the agent runs as root: /tmp is there on every distribution).
    static func scratchFile() throws(WGCommandError) -> Int32 {
        var template = Array("/tmp/.wgcommand-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw .cannotStart(argv: [], reason: "no scratch file in /tmp: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// Reads what the child appends to `fd`, line by line, until cancelled (the child has ended); then the rest.
    static func follow(_ fd: Int32, limit: Int, onLine: @Sendable (String) -> Void) async -> String {
        var all: [UInt8] = [], pending: [UInt8] = [], offset: off_t = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        func drain() {
            while true {
                let n = pread(fd, &chunk, chunk.count, offset)
                guard n > 0 else { return }
                offset += off_t(n)
                if all.count < limit { all += chunk[0..<min(n, limit - all.count)] }
                pending += chunk[0..<n]
                while let nl = pending.firstIndex(of: 10) {
                    onLine(String(decoding: pending[..<nl], as: UTF8.self))
                    pending.removeSubrange(...nl)
                }
            }
        }
        while !Task.isCancelled {
            drain()
            try? await Task.sleep(for: .milliseconds(50))
        }
        drain()
        if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)) }
        return String(decoding: all, as: UTF8.self)
    }

    static func status(_ t: TerminationStatus) -> Int32 {
        switch t {
        case .exited(let code): return Int32(code)
        case .signaled(let signal): return 128 + Int32(signal)
        }
    }
}
