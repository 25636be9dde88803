import ArgumentParser
import Foundation
import Logging
import WGHub
import WGModel

/// What a wghub command runs against, in swiftly's style (`run(ctx)`): `live` in production; a test passes an
/// output that records and a quiet logger.
public struct WGHubCLIContext: Sendable {
    /// stdout and stderr.
    public var output: WGOutput
    /// serve's logger at a level; `live` bootstraps the process's logging (stderr) on the first call.
    public var logger: @Sendable (Logger.Level) -> Logger

    public init(output: WGOutput, logger: @escaping @Sendable (Logger.Level) -> Logger) {
        self.output = output
        self.logger = logger
    }

    public static var live: WGHubCLIContext {
        WGHubCLIContext(output: .standard) { level in
            LoggingSystem.bootstrap { label in
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = level
                return h
            }
            return Logger(label: "wghub")
        }
    }
}

/// A wghub command: parses, then runs against a context.
public protocol WGHubRunnable: AsyncParsableCommand {
    func run(_ ctx: WGHubCLIContext) async throws
}

extension WGHubRunnable {
    public mutating func run() async throws { try await run(.live) }
}

extension WGHubCommand {
    /// Parses `arguments` and runs the command against `ctx`, as `main()` does: the exit status; ArgumentParser's
    /// messages (usage, help, errors) go to `ctx.output`.
    public static func run(_ arguments: [String], _ ctx: WGHubCLIContext) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if let runnable = command as? any WGHubRunnable {
                try await runnable.run(ctx)
            } else {
                try command.run()  // a group: its help
            }
            return 0
        } catch {
            let code = exitCode(for: error).rawValue
            ctx.output.exitMessage(fullMessage(for: error), exitCode: code)
            return code
        }
    }
}

extension WGOutput {
    /// One line of tab-separated fields, each escaped for the terminal (`\x1b` shown as `\\x1b`, CR and LF as `\\r`,
    /// `\\n`): names, details and errors come from sites and receivers, and must not move the cursor or forge a line.
    func row(_ fields: [String]) { line(fields.map(WGText.terminalSafe).joined(separator: "\t")) }
}
