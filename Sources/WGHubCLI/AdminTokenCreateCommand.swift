import ArgumentParser
import Foundation
import WGHub
import WGModel

struct AdminTokenCreateCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an admin token (Authorization: Bearer TOKEN; in a browser, any user name with the token as password).")

    @OptionGroup var data: DataOptions
    @Option(help: "A label shown in `token list --all`.")
    var name: String?
    @Option(help: "How long it stays valid (90s, 15m, 24h, 30d); no expiry when omitted.")
    var ttl: String?

    func run(_ ctx: WGHubCLIContext) async throws {
        var seconds: Double?
        if let ttl {
            guard let s = WGDurations.parse(ttl) else { throw ValidationError("--ttl \"\(ttl)\": a duration like 24h or 30d") }
            seconds = s
        }
        let store = try WGHubStore.open(dataDirectory: data.data)
        let (id, secret) = try store.createToken(kind: .admin, name: name, ttl: seconds)
        ctx.output.line("admin token \(id)\(seconds.map { ", expires " + ISO8601DateFormatter().string(from: Date().addingTimeInterval($0)) } ?? "")")
        ctx.output.line(secret)
    }
}
