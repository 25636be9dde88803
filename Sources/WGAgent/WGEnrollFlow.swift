#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// `wgagent enroll` as a whole: enroll with the hub, converge the profile with the hub's values, wait for the
/// first handshake, check the port forward once. Prints its account to `output`; touches the machine only
/// through `host`.
public struct WGEnrollFlow {
    /// How it ended; `exitStatus` is enroll's exit status.
    public enum Outcome: Sendable, Equatable {
        /// Enrolled, converged, and a handshake seen (or not waited for: --wait 0).
        case enrolled
        /// The apply with the hub's values did not converge.
        case notConverged
        /// Refused: URL, pin, certificate, token, input, or an answer of the hub this agent does not trust.
        case refused
        /// Enrolled and converged, but no handshake within --wait.
        case noHandshake
        /// The hub could not be reached (name, route, timeout): a first-boot hook may retry later.
        case unreachable

        public var exitStatus: Int32 {
            switch self {
            case .enrolled: 0
            case .notConverged: 1
            case .refused: 2
            case .noHandshake: 3
            case .unreachable: 4
            }
        }
    }

    /// What enroll was asked (its command-line options).
    public struct Options: Sendable {
        public var hub: String
        public var token: String
        public var pin: String?
        public var caFile: String?
        public var insecureHTTP = false
        /// A profile name or a .yaml path.
        public var profile = "site-gateway"
        public var vars: [String] = []
        public var reenroll = false
        /// Seconds to wait for the first handshake (0: do not wait).
        public var wait: Double = 30

        public init(hub: String, token: String, pin: String? = nil, caFile: String? = nil, insecureHTTP: Bool = false,
                    profile: String = "site-gateway", vars: [String] = [], reenroll: Bool = false, wait: Double = 30) {
            self.hub = hub
            self.token = token
            self.pin = pin
            self.caFile = caFile
            self.insecureHTTP = insecureHTTP
            self.profile = profile
            self.vars = vars
            self.reenroll = reenroll
            self.wait = wait
        }
    }

    public let host: WGHost
    public let files: WGFileSource
    public let options: Options
    public let output: WGOutput
    /// The port-forward check after convergence.
    public var portCheck: WGPortCheckRunner = WGPortChecker.live
    /// The resources converged (nil: the standard ones for this machine).
    public var resources: [WGResource]?
    /// How the first handshake is waited for (its clock can be replaced).
    public var handshakeWait: WGHandshakeWait

    public init(host: WGHost, files: WGFileSource, options: Options, output: WGOutput) {
        self.host = host
        self.files = files
        self.options = options
        self.output = output
        self.handshakeWait = WGHandshakeWait(host: host)
    }

    struct HubProfile: Error, CustomStringConvertible { let description: String }

    public func run() -> Outcome {
        let o = options
        let profile: WGProfile
        let facts: WGFacts
        do {
            profile = try files.loadProfile(o.profile)
            guard profile.role != .hub else {
                throw HubProfile(description: "profile \(profile.name) is the hub's own: a hub is not enrolled; use `wgagent apply --profile hub`")
            }
            facts = try WGFacts.gather(host)
        } catch {
            output.error("\(error)")
            return .refused
        }
        output.line("wgagent enroll: \(o.hub) · profile \(profile.name) · \(facts.os.prettyName) · \(facts.initSystem.name) · egress \(facts.egressInterface ?? "none")")

        let enroller = WGEnroller(host: host, facts: facts, files: files)
        enroller.progress = { output.progress($0) }
        let result: WGEnrollResult
        do {
            result = try enroller.enroll(WGEnrollOptions(
                hubURL: o.hub, token: o.token, pin: o.pin, caFile: o.caFile, insecureHTTP: o.insecureHTTP, profile: profile,
                vars: o.vars, reenroll: o.reenroll))
        } catch {
            output.error("\(error)")
            if (try? WGEnrollmentStore.load(host)) != nil {
                output.error("this machine stays enrolled as before (\(WGEnrollmentStore.path)); nothing was changed but the key step")
            }
            return WGEnrollError.exitStatus(for: error) == 4 ? .unreachable : .refused
        }
        let e = result.enrollment
        output.line("  key       \(result.keys.status == .ok ? "kept" : "set up"): \(result.keys.reason)")
        if result.contactedHub {
            output.line("  enrolled  site \(e.siteID.map(String.init) ?? "?") \"\(e.hostname)\": address \(e.address), hub \(e.hubEndpoint) (key \(e.hubPublicKey))")
        } else {
            output.line("  enrolled  already, as site \(e.siteID.map(String.init) ?? "?") \"\(e.hostname)\": address \(e.address), hub \(e.hubEndpoint) (the token was not used again)")
        }
        output.line("  saved     \(WGEnrollmentStore.path) (0600): hub URL, \(e.pin != nil ? "pin" : e.caFile != nil ? "CA file" : "system CAs"), credential")

        let applier: WGApplier
        do {
            applier = try WGAgentApply.applier(host: host, facts: facts, files: files, profile: profile, values: result.applyValues,
                                               resources: resources)
        } catch {
            output.error("the hub's values do not fit profile \(profile.name): \(error)")
            return .refused
        }
        applier.progress = { output.progress($0) }
        output.line("  apply     profile \(profile.name) with \(result.applyValues.joined(separator: " "))")
        let report = applier.run(dryRun: false)
        output.summary(report)
        guard report.converged else { return .notConverged }

        guard o.wait > 0 else {
            WGPortCheckOnce.run(host: host, enrollment: e, spec: applier.context.spec, output: output, check: portCheck)
            output.line("done: enrolled and converged (not waiting for a handshake: --wait 0)")
            return .enrolled
        }
        output.line("  waiting   up to \(Int(o.wait)) s for the first handshake with the hub …")
        let outcome = handshakeWait.wait(interface: e.interface, peer: e.hubPublicKey, timeout: o.wait)
        if case .handshake(let after, let endpoint) = outcome {
            output.line("  tunnel    up: handshake with the hub after \(WGText.oneDecimal(after)) s\(endpoint.map { " (\($0))" } ?? "")")
        }
        WGPortCheckOnce.run(host: host, enrollment: e, spec: applier.context.spec, output: output, check: portCheck)
        switch outcome {
        case .handshake:
            output.line("done: \(e.hostname) is site \(e.siteID.map(String.init) ?? "?") of \(e.hubURL), tunnel address \(e.address)")
            return .enrolled
        case .none(let waited, let problem):
            output.line("  tunnel    no handshake with the hub within \(Int(waited)) s\(problem.map { ": \($0)" } ?? "")")
            output.line("enrolled and converged, but the tunnel is not up: check that UDP reaches \(e.hubEndpoint) from here, and run `wgagent doctor`")
            return .noHandshake
        }
    }
}
