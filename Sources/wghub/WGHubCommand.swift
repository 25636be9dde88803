import ArgumentParser
import Foundation

@main
struct WGHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wghub",
        abstract: "The wgagent coordinator: enrollment tokens, tunnel addresses, health, probes and a dashboard over HTTPS.",
        subcommands: [ServeCommand.self, TokenCommand.self, AdminTokenCommand.self, SiteCommand.self, AlertCommand.self]
    )

    static func main() async {
        umask(0o077)  // the store, its WAL and the TLS key hold secrets' hashes and keys: owner only
        do {
            var command = try parseAsRoot()
            if var async = command as? any AsyncParsableCommand {
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
