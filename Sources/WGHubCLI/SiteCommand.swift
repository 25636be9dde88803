import ArgumentParser
import Foundation
import WGHub
import WGModel

struct SiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "site",
        abstract: "Enrolled sites: list, grant or withdraw LAN routes, delete. A running `wghub serve` applies changes within seconds.",
        subcommands: [SiteListCommand.self, SiteGrantCommand.self, SiteUngrantCommand.self, SiteDeleteCommand.self])

    /// The policy `serve` last ran with (pool and width limits from the store), for checking grants here.
    static func policy(store: WGHubStore) throws -> WGLANPolicy {
        guard let text = try store.meta("pool"), let pool = try? WGAddressPool(text) else {
            // Before the first `serve` the pool is not known: width and form are still checked. (A stand-in pool in
            // TEST-NET-1; a /32 is refused as a pool, which made `token create` fail on a fresh data folder.)
            return WGLANPolicy(pool: try WGAddressPool("192.0.2.0/30"))
        }
        let widths = (try store.meta("shortest_lan_prefix") ?? "16,48").split(separator: ",").compactMap { Int($0) }
        return WGLANPolicy(pool: pool, shortestPrefix4: widths.first ?? 16, shortestPrefix6: widths.count > 1 ? widths[1] : 48)
    }

    /// Grants and withdraws, then prints what the site has granted now.
    static func changeGrants(_ ctx: WGHubCLIContext, data: DataOptions, id: Int64, grant: [String], revoke: [String]) async throws {
        let store = try WGHubStore.open(dataDirectory: data.data)
        do {
            let site = try await store.updateGrants(siteID: id, grant: grant, revoke: revoke, policy: try policy(store: store))
            ctx.output.line("site \(id) (\(WGText.terminalSafe(site.hostname))) granted: \(site.lanGranted.isEmpty ? "none" : site.lanGranted.joined(separator: " "))")
        } catch let e as WGHubError { throw ValidationError(e.body.message) }
    }
}

struct SiteListCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List sites with their LAN prefixes and grants.")
    @OptionGroup var data: DataOptions

    func run(_ ctx: WGHubCLIContext) async throws {
        let store = try WGHubStore.open(dataDirectory: data.data)
        let sites = try await store.allSites()
        let policy = try SiteCommand.policy(store: store)
        if sites.isEmpty { ctx.output.line("no sites enrolled"); return }
        let claims = WGLANPolicy.claims(sites)
        for s in sites {
            ctx.output.row(["\(s.id)", s.hostname, s.address])
            // The hub's own networks are checked by `serve`; here: grants, width, pool and other sites.
            for l in policy.decide(s, claims: claims) {
                ctx.output.row(["", "LAN \(l.prefix)", l.state.rawValue] + (l.reason.map { [$0] } ?? []))
            }
        }
    }
}

struct SiteGrantCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(
        commandName: "grant", abstract: "Grant LAN prefixes to a site: routed once the site announces them and they are safe.")
    @OptionGroup var data: DataOptions
    @Argument(help: "The site ID from `wghub site list`.") var id: Int64
    @Argument(help: "LAN prefixes, e.g. 198.51.100.0/24.") var prefixes: [String]

    func run(_ ctx: WGHubCLIContext) async throws { try await SiteCommand.changeGrants(ctx, data: data, id: id, grant: prefixes, revoke: []) }
}

struct SiteUngrantCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(commandName: "ungrant", abstract: "Withdraw LAN prefixes from a site: no longer routed.")
    @OptionGroup var data: DataOptions
    @Argument(help: "The site ID from `wghub site list`.") var id: Int64
    @Argument(help: "LAN prefixes to withdraw.") var prefixes: [String]

    func run(_ ctx: WGHubCLIContext) async throws { try await SiteCommand.changeGrants(ctx, data: data, id: id, grant: [], revoke: prefixes) }
}

struct SiteDeleteCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a site: its peer, routes and credential go; its key may enroll anew with a token.")
    @OptionGroup var data: DataOptions
    @Argument(help: "The site ID from `wghub site list`.") var id: Int64

    func run(_ ctx: WGHubCLIContext) async throws {
        let store = try WGHubStore.open(dataDirectory: data.data)
        guard let site = try await store.deleteSite(id: id) else { throw ValidationError("no site \(id): see `wghub site list`") }
        ctx.output.line("deleted site \(id) (\(WGText.terminalSafe(site.hostname))); a running wghub removes its peer within seconds")
    }
}
