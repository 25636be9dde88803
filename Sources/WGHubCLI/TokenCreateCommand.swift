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
        // Before the data folder is opened (WGTokenAdmin checks them all again, with the store's policy).
        guard WGDurations.parse(ttl) != nil else { throw ValidationError("--ttl \"\(ttl)\": a duration like 90s, 15m, 24h or 7d") }
        guard uses >= 1 else { throw ValidationError("--uses must be at least 1") }
        for v in vars { if let problem = WGEnrollInstructions.checkVar(v) { throw ValidationError(problem) } }
    }

    func run(_ ctx: WGHubCLIContext) async throws {
        let store = try WGHubStore.open(dataDirectory: data.data)
        let policy = try SiteCommand.policy(store: store)
        if cloudInit && !agentPresent {
            // Refused before a token is made that the user-data could not use.
            try WGEnrollInstructions.checkBootstrap(store: store, dataDirectory: data.data, hubURL: hub)
        }
        // The same checks and the same code as POST /v1/tokens and the browser's form (WGTokenAdmin).
        let request = WGTokenRequest(name: name, profile: profile, ttl: ttl, uses: uses, lan: lan, vars: vars)
        let made: WGEnrollInstructions
        do {
            made = try WGTokenAdmin.create(request, store: store, dataDirectory: data.data, policy: policy, hubURL: hub)
        } catch let e as WGHubError {
            // "ttl: …" becomes "--ttl: …"; checkVar's words already name --var.
            throw ValidationError(e.body.field == nil || e.body.field == "vars" ? e.body.message : "--" + e.body.message)
        }
        if cloudInit {
            ctx.output.errorLine(made.summary)
            ctx.output.text(try made.userData(agentPresent: agentPresent))
            return
        }
        ctx.output.line(made.summary)
        ctx.output.line(made.token)
        ctx.output.line("")
        ctx.output.line("on the new machine:")
        ctx.output.line("  " + made.enrollLine())
    }
}
