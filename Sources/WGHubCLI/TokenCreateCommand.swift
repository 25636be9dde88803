import ArgumentParser
import Foundation
import WGHub
import WGModel

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
          help: "Print cloud-init user-data (#cloud-config) for a stock image: it fetches the agent from the hub over the pinned TLS, checks its SHA-256, installs it at /usr/local/bin/wgagent and enrolls. The token's summary goes to stderr.")
    var cloudInit = false
    @Option(name: .customLong("var"), help: ArgumentHelp("A profile value the enrolling agent gets (repeatable), e.g. lan_access=route or report_interval=30.", valueName: "key=value"))
    var vars: [String] = []
    @Flag(name: .customLong("agent-present"),
          help: "With --cloud-init: the image already carries /usr/local/bin/wgagent (e.g. a Proxmox template): print only the enroll runcmd.")
    var agentPresent = false

    func validate() throws {
        if agentPresent && !cloudInit { throw ValidationError("--agent-present goes with --cloud-init") }
        for v in vars { if let problem = WGEnrollInstructions.checkVar(v) { throw ValidationError(problem) } }
    }

    func run(_ ctx: WGHubCLIContext) async throws {
        guard let seconds = WGDurations.parse(ttl) else { throw ValidationError("--ttl \"\(ttl)\": a duration like 90s, 15m, 24h or 7d") }
        guard uses >= 1 else { throw ValidationError("--uses must be at least 1") }
        let store = try WGHubStore.open(dataDirectory: data.data)
        let policy = try SiteCommand.policy(store: store)
        let grants: [String]
        do { grants = try lan.map(policy.checkGrant) } catch let e as WGHubError { throw ValidationError("--lan: \(e.body.message)") }
        if cloudInit && !agentPresent {
            // Refused before a token is made that the user-data could not use.
            try WGEnrollInstructions.checkBootstrap(store: store, dataDirectory: data.data, hubURL: hub)
        }
        var made = try WGEnrollInstructions.issue(
            store: store, dataDirectory: data.data, name: name, profile: profile, ttl: seconds, uses: uses, lanGrants: grants, hubURL: hub)
        made.vars = vars
        if cloudInit {
            ctx.output.errorLine(made.summary)
            ctx.output.text(try made.userData(agentPresent: agentPresent))
            return
        }
        ctx.output.line(made.summary)
        ctx.output.line(made.token)
        ctx.output.line("")
        ctx.output.line("on the new machine:")
        ctx.output.line("  " + made.enrollArgv().joined(separator: " "))
    }
}
