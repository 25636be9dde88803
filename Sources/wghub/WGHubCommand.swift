import ArgumentParser

@main
struct WGHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wghub",
        abstract: "The wgagent coordinator: enrollment tokens, tunnel addresses, health, probes and a dashboard over HTTPS.",
        subcommands: [ServeCommand.self, TokenCommand.self, AdminTokenCommand.self]
    )
}

/// The data folder every command works on.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data folder: SQLite store, TLS key and certificate.")
    var data: String = "/var/lib/wghub"
}
