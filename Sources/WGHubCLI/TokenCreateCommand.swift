import ArgumentParser
import Foundation
import WGHub
import WGModel
import WGProvision

struct TokenCreateCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an enrollment token and print the `wgagent enroll` line to paste on the new machine.")

    @OptionGroup var data: DataOptions
    @Option(help: "Profile the enrolling machine applies (hub, site-gateway, roadwarrior).")
    var profile: String?
    @Option(help: "How long the token stays valid: 90s, 15m, 24h, 7d.")
    var ttl: String = "24h"
    @Option(help: "How many enrollments it allows.")
    var uses: Int = 1
    @Option(help: "The host it is meant for (a label shown in `token list`).")
    var name: String?
    @Option(parsing: .upToNextOption,
            help: "LAN prefixes the enrolling site may have routed (e.g. 198.51.100.0/24); an announced LAN inside one is routed, any other waits for `wghub site grant`.")
    var lan: [String] = []
    @Option(help: "Hub URL for the printed line (default: the one `wghub serve` last announced).")
    var hub: String?
    @Flag(name: .customLong("cloud-init"),
          help: "Print cloud-init user-data (#cloud-config, runcmd) that enrolls the VM on first boot; the token's summary goes to stderr.")
    var cloudInit = false

    func run(_ ctx: WGHubCLIContext) async throws {
        guard let seconds = WGDurations.parse(ttl) else { throw ValidationError("--ttl \"\(ttl)\": a duration like 90s, 15m, 24h or 7d") }
        guard uses >= 1 else { throw ValidationError("--uses must be at least 1") }
        let store = try WGHubStore.open(dataDirectory: data.data)
        let policy = try SiteCommand.policy(store: store)
        let grants: [String]
        do { grants = try lan.map(policy.checkGrant) } catch let e as WGHubError { throw ValidationError("--lan: \(e.body.message)") }
        let (id, secret) = try store.createToken(kind: .enroll, name: name, profile: profile, ttl: seconds, maxUses: uses, lanGrants: grants)
        let url = try hub ?? store.meta("public_url") ?? "https://HUB:8443"
        let pin = try Self.pin(store: store, dataDirectory: data.data)
        let expires = ISO8601DateFormatter().string(from: Date().addingTimeInterval(seconds))
        let summary = "token \(id): \(uses) use\(uses == 1 ? "" : "s"), expires \(expires)\(profile.map { ", profile \($0)" } ?? "")\(name.map { ", for \($0)" } ?? "")"
            + (grants.isEmpty ? ", no LAN routed without a grant" : ", LAN \(grants.joined(separator: " "))")
        var argv = ["wgagent", "enroll", "--hub", url, "--token", secret]
        if let profile { argv += ["--profile", profile] }
        if let pin, !pin.isEmpty { argv += ["--pin", pin] } else if url.hasPrefix("http://") { argv += ["--allow-insecure-http"] }
        if cloudInit {
            ctx.output.errorLine(summary)
            argv[0] = "/usr/local/bin/wgagent"
            ctx.output.text(try WGCloudInit.userData(argv: argv, hub: url, about: summary.replacingOccurrences(of: "token \(id): ", with: "token \(id), ")))
            return
        }
        ctx.output.line(summary)
        ctx.output.line(secret)
        ctx.output.line("")
        ctx.output.line("on the new machine:")
        ctx.output.line("  " + argv.joined(separator: " "))
    }

    static func pin(store: WGHubStore, dataDirectory: String) throws -> String? {
        let cert = (dataDirectory as NSString).appendingPathComponent(WGTLSIdentity.certificateFile)
        if let stored = try store.meta("pin") { return stored }
        if FileManager.default.fileExists(atPath: cert) { return try WGTLSIdentity.pin(certificatePath: cert) }
        return nil
    }
}
