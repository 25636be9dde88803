import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGAgent
import WGModel
import WGProvision

struct EnrollCommand: ParsableCommand {
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
    @Option(help: "The enrollment token from `wghub token create`.")
    var token: String
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

    func run() throws {
        let files = WGFileSource(templatesDirectory: templates, profilesDirectory: profilesDirectory)
        let host = WGLocalHost()
        let profile: WGProfile
        let facts: WGFacts
        do {
            profile = try files.loadProfile(self.profile)
            guard profile.role != .hub else {
                throw ValidationError("profile \(profile.name) is the hub's own: a hub is not enrolled; use `wgagent apply --profile hub`")
            }
            facts = try WGFacts.gather(host)
        } catch {
            WGOutput.error("\(error)")
            throw ExitCode(2)
        }
        print("wgagent enroll: \(hub) · profile \(profile.name) · \(facts.os.prettyName) · \(facts.initSystem.name) · egress \(facts.egressInterface ?? "none")")

        let enroller = WGEnroller(host: host, facts: facts, files: files)
        enroller.progress = { WGOutput.progress($0) }
        let result: WGEnrollResult
        do {
            result = try enroller.enroll(WGEnrollOptions(
                hubURL: hub, token: token, pin: pin, caFile: caFile, insecureHTTP: insecure, profile: profile, vars: vars,
                reenroll: reenroll))
        } catch {
            WGOutput.error("\(error)")
            if (try? WGEnrollmentStore.load(host)) != nil {
                WGOutput.error("this machine stays enrolled as before (\(WGEnrollmentStore.path)); nothing was changed but the key step")
            }
            throw ExitCode(WGEnrollError.exitStatus(for: error))
        }
        let e = result.enrollment
        print("  key       \(result.keys.status == .ok ? "kept" : "set up"): \(result.keys.reason)")
        if result.contactedHub {
            print("  enrolled  site \(e.siteID.map(String.init) ?? "?") \"\(e.hostname)\": address \(e.address), hub \(e.hubEndpoint) (key \(e.hubPublicKey))")
        } else {
            print("  enrolled  already, as site \(e.siteID.map(String.init) ?? "?") \"\(e.hostname)\": address \(e.address), hub \(e.hubEndpoint) (the token was not used again)")
        }
        print("  saved     \(WGEnrollmentStore.path) (0600): hub URL, \(e.pin != nil ? "pin" : e.caFile != nil ? "CA file" : "system CAs"), credential")

        let applier: WGApplier
        do {
            applier = try WGAgentApply.applier(host: host, facts: facts, files: files, profile: profile, values: result.applyValues)
        } catch {
            WGOutput.error("the hub's values do not fit profile \(profile.name): \(error)")
            throw ExitCode(2)
        }
        applier.progress = { WGOutput.progress($0) }
        print("  apply     profile \(profile.name) with \(result.applyValues.joined(separator: " "))")
        let report = applier.run(dryRun: false)
        WGOutput.summary(report)
        guard report.converged else { throw ExitCode(1) }

        guard wait > 0 else {
            PortCheckOnce.run(host: host, enrollment: e, spec: applier.context.spec)
            print("done: enrolled and converged (not waiting for a handshake: --wait 0)")
            return
        }
        print("  waiting   up to \(Int(wait)) s for the first handshake with the hub …")
        let outcome = WGHandshakeWait(host: host).wait(interface: e.interface, peer: e.hubPublicKey, timeout: wait)
        if case .handshake(let after, let endpoint) = outcome {
            print("  tunnel    up: handshake with the hub after \(WGText.oneDecimal(after)) s\(endpoint.map { " (\($0))" } ?? "")")
        }
        PortCheckOnce.run(host: host, enrollment: e, spec: applier.context.spec)
        switch outcome {
        case .handshake:
            print("done: \(e.hostname) is site \(e.siteID.map(String.init) ?? "?") of \(e.hubURL), tunnel address \(e.address)")
        case .none(let waited, let problem):
            print("  tunnel    no handshake with the hub within \(Int(waited)) s\(problem.map { ": \($0)" } ?? "")")
            print("enrolled and converged, but the tunnel is not up: check that UDP reaches \(e.hubEndpoint) from here, and run `wgagent doctor`")
            throw ExitCode(3)
        }
    }
}
