import ArgumentParser
import WGHub
import WGModel

struct TokenRevokeCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token (enrollment or admin) by its ID.")

    @OptionGroup var data: DataOptions
    @Argument(help: "The token ID from `wghub token list`.")
    var id: String

    func run(_ ctx: WGHubCLIContext) async throws {
        let store = try WGHubStore.open(dataDirectory: data.data)
        do { try WGTokenAdmin.revoke(store: store, id: id) } catch let e as WGHubError { throw ValidationError(e.body.message) }
        ctx.output.line("revoked \(id)")
    }
}
