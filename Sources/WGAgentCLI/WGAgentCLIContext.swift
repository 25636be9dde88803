import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGAgent
import WGModel
import WGProvision
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a command runs against, in swiftly's style (`run(ctx)`): `live` in production; a test passes a fake
/// host, an output that records, and answers for what would leave the machine.
public struct WGAgentCLIContext {
    /// The machine rooted at a path (`--root`, "/" for most commands).
    public var host: (_ root: String) -> WGHost
    /// stdout and stderr.
    public var output: WGOutput
    /// The port-forward check (a real UDP probe from the hub).
    public var portCheck: WGPortCheckRunner
    /// The resources apply and enroll converge (nil: the standard ones for the machine).
    public var resources: ((WGHost) -> [WGResource])?
    /// enroll's wait for the first handshake: its clock (tests need not sleep).
    public var now: () -> Date
    public var sleep: (Double) -> Void
    /// All of stdin (`pubkey`).
    public var readInput: () -> [UInt8]

    public init(host: @escaping (_ root: String) -> WGHost, output: WGOutput,
                portCheck: @escaping WGPortCheckRunner = WGPortChecker.live, resources: ((WGHost) -> [WGResource])? = nil,
                now: @escaping () -> Date = Date.init, sleep: @escaping (Double) -> Void = { usleep(useconds_t($0 * 1_000_000)) },
                readInput: @escaping () -> [UInt8] = WGAgentCLIContext.readStandardInput) {
        self.host = host
        self.output = output
        self.portCheck = portCheck
        self.resources = resources
        self.now = now
        self.sleep = sleep
        self.readInput = readInput
    }

    /// This machine, this process's streams.
    public static var live: WGAgentCLIContext {
        WGAgentCLIContext(host: { WGLocalHost(root: $0) }, output: .standard)
    }

    /// Facts and enrollment of this machine; a failure is printed and ends the command with exit status 2.
    func machine(requireEnrollment: Bool) throws -> WGMachine {
        do {
            return try WGMachine.load(host("/"), requireEnrollment: requireEnrollment)
        } catch {
            output.error("\(error)")
            throw ExitCode(2)
        }
    }

    public static func readStandardInput() -> [UInt8] {
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(0, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }
}

/// A wgagent command: parses, then runs against a context.
public protocol WGAgentRunnable: ParsableCommand {
    func run(_ ctx: WGAgentCLIContext) throws
}

extension WGAgentRunnable {
    public mutating func run() throws { try run(.live) }
}

extension WGAgentCommand {
    /// Parses `arguments` and runs the command against `ctx`, as `main()` does: the exit status; ArgumentParser's
    /// messages (usage, help, errors) go to `ctx.output`.
    public static func run(_ arguments: [String], _ ctx: WGAgentCLIContext) -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if let runnable = command as? any WGAgentRunnable {
                try runnable.run(ctx)
            } else {
                try command.run()  // a group without a default subcommand: its help
            }
            return 0
        } catch {
            let code = exitCode(for: error).rawValue
            ctx.output.exitMessage(fullMessage(for: error), exitCode: code)
            return code
        }
    }
}
