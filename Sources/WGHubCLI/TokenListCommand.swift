import ArgumentParser
import Foundation
import WGHub
import WGModel

struct TokenListCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (never their secrets).")

    @OptionGroup var data: DataOptions
    @Flag(help: "Also list admin tokens.")
    var all = false

    func run(_ ctx: WGHubCLIContext) async throws {
        let store = try WGHubStore.open(dataDirectory: data.data)
        let fmt = ISO8601DateFormatter()
        ctx.output.line(["ID", "KIND", "STATE", "USES", "EXPIRES", "PROFILE", "NAME"].joined(separator: "\t"))
        for t in try WGTokenAdmin.list(store: store, all: all) {
            ctx.output.row([
                t.id, t.kind, t.state, "\(t.uses)/\(t.maxUses.map(String.init) ?? "∞")",
                t.expiresAt.map { fmt.string(from: $0) } ?? "never", t.profile ?? "-", t.name ?? "-",
            ])
        }
    }
}
