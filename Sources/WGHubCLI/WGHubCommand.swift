import ArgumentParser
import Foundation

public struct WGHubCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "wghub",
        abstract: "The wgagent coordinator: enrollment tokens, tunnel addresses, health, probes and a dashboard over HTTPS.",
        subcommands: [ServeCommand.self, TokenCommand.self, AdminTokenCommand.self, SiteCommand.self, AlertCommand.self]
    )

    public init() {}

    /// What the wghub executable runs: a umask, then ArgumentParser's parse and run. (Not named `main`: from another
    /// module a call to that name resolves to ArgumentParser's synchronous `main()`, which refuses an async root.)
    public static func launch() async {
        umask(0o077)  // the store, its WAL and the TLS key hold secrets' hashes and keys: owner only
        do {
            var command = try parseAsRoot()
            if let runnable = command as? any WGHubRunnable {
                try await runnable.run(.live)
            } else if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// The data folder every command works on.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data folder: SQLite store, TLS key and certificate.")
    var data: String = "/var/lib/wghub"
}
