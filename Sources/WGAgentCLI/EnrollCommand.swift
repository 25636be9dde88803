import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGAgent
import WGProvision

struct EnrollCommand: WGAgentRunnable {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll this machine with a hub, converge the profile with the hub's answer, and wait for the tunnel.",
        discussion: """
            Generates the WireGuard key on this machine (or keeps the one there), sends its public key to the hub over \
            HTTPS, saves the enrollment (hub URL, pin, credential, address) in /var/lib/wgagent/enrollment.json (0600), \
            runs `apply` with the hub's values, and waits for the first handshake. Running it again is safe: the key and \
            the address stay, and the token is not used again (--reenroll asks the hub anew).
            Exit 0: enrolled, converged, handshake seen. 1: apply did not converge. 2: refused (URL, pin, certificate, \
            token, input, or an answer of the hub this agent does not trust). 3: enrolled and converged but no handshake within --wait. 4: the hub could not be reached \
            (name, route, timeout): a first-boot hook may retry later.
            """
    )

    @Option(help: "The hub's URL, e.g. https://hub.example.net:8443 (as `wghub token create` prints it).")
    var hub: String
    @Option(help: "The enrollment token from `wghub token create` (or in the environment as WGAGENT_TOKEN, which keeps it out of the process list).")
    var token: String?
    @Option(help: "The hub's key pin, sha256//BASE64 (printed by `wghub serve` and `wghub token create`).")
    var pin: String?
    @Option(name: .customLong("ca-file"), help: "A PEM file with the CA (or the hub's certificate) to verify the hub.")
    var caFile: String?
    @Flag(name: [.customLong("insecure"), .customLong("allow-insecure-http")],
          help: "Allow a plain http:// hub URL (only for a hub run with --insecure-http, e.g. over a trusted link).")
    var insecure = false
    @Option(help: "Profile to converge (site-gateway, roadwarrior, or a .yaml path).")
    var profile: String = "site-gateway"
    @Option(name: .customLong("var"), help: ArgumentHelp("An extra profile value, key=value (repeatable), e.g. lan_access=route.", valueName: "key=value"))
    var vars: [String] = []
    @Flag(help: "Ask the hub again even when already enrolled there with this key (needs a token with a use left).")
    var reenroll = false
    @Option(help: "Seconds to wait for the first handshake (0: do not wait).")
    var wait: Double = 30
    @Option(name: .long, help: "Read templates from this directory first.")
    var templates: String?
    @Option(name: .customLong("profiles"), help: "Read profiles from this directory first.")
    var profilesDirectory: String?

    func run(_ ctx: WGAgentCLIContext) throws {
        let host = ctx.host("/")
        var flow = WGEnrollFlow(
            host: host, files: WGFileSource(templatesDirectory: templates, profilesDirectory: profilesDirectory),
            options: .init(hub: hub, token: try Self.token(given: token), pin: pin, caFile: caFile, insecureHTTP: insecure, profile: profile, vars: vars,
                           reenroll: reenroll, wait: wait),
            output: ctx.output)
        flow.portCheck = ctx.portCheck
        flow.resources = ctx.resources?(host)
        flow.handshakeWait.now = ctx.now
        flow.handshakeWait.sleep = ctx.sleep
        let outcome = flow.run()
        if outcome != .enrolled { throw ExitCode(outcome.exitStatus) }
    }

    func validate() throws { _ = try Self.token(given: token) }

    /// --token, else WGAGENT_TOKEN (first-boot user-data passes it so, not on a command line `ps` shows).
    static func token(given: String?) throws -> String {
        if let given { return given }
        if let t = ProcessInfo.processInfo.environment["WGAGENT_TOKEN"], !t.isEmpty { return t }
        throw ValidationError("Missing expected argument '--token <token>' (or WGAGENT_TOKEN in the environment)")
    }
}
