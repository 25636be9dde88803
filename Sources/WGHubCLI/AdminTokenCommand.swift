import ArgumentParser

struct AdminTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token",
        abstract: "Admin tokens for the admin API, the dashboard and /metrics.",
        subcommands: [AdminTokenCreateCommand.self])
}
