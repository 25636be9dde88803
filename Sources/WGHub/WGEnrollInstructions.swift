import Foundation
import WGModel
import WGProvision

/// What `wghub token create` prints for one new token: the summary, the `wgagent enroll` argv, and cloud-init
/// user-data, either for an image that already carries the agent (runcmd only) or for a stock image (a fixed
/// bootstrap script that fetches the agent from the hub over the pinned TLS, checks it and enrolls).
public struct WGEnrollInstructions: Sendable {
    public var tokenID: String
    public var token: String
    public var hubURL: String
    /// `sha256//BASE64`; nil for a plain-HTTP hub.
    public var pin: String?
    public var profile: String?
    /// "token tok_…: 1 use, expires …, …, agent 0.1.0 (x86_64 sha256 …)".
    public var summary: String
    /// The agent `serve` last recorded (nil when it serves none).
    public var agent: WGAgentInfo?
    /// Extra profile values for the enrolling agent (`--var key=value`), e.g. lan_access=route.
    public var vars: [String] = []

    public init(tokenID: String, token: String, hubURL: String, pin: String?, profile: String?, summary: String, agent: WGAgentInfo?) {
        self.tokenID = tokenID
        self.token = token
        self.hubURL = hubURL
        self.pin = pin
        self.profile = profile
        self.summary = summary
        self.agent = agent
    }

    /// Where the bootstrap installs the agent, and where an image that carries it has it.
    public static let agentPath = "/usr/local/bin/wgagent"
    public static let bootstrapPath = "/usr/local/sbin/wgagent-bootstrap"

    /// Creates the token in the store and gathers what the hub's last `serve` recorded (URL, pin, agent).
    public static func issue(
        store: WGHubStore, dataDirectory: String, name: String?, profile: String?, ttl: TimeInterval, uses: Int,
        lanGrants: [String], hubURL: String? = nil, now: Date = Date()
    ) throws -> WGEnrollInstructions {
        let (id, secret) = try store.createToken(kind: .enroll, name: name, profile: profile, ttl: ttl, maxUses: uses, lanGrants: lanGrants, now: now)
        let (url, pin, agent) = try recorded(store: store, dataDirectory: dataDirectory, hubURL: hubURL)
        let expires = ISO8601DateFormatter().string(from: now.addingTimeInterval(ttl))
        var summary = "token \(id): \(uses) use\(uses == 1 ? "" : "s"), expires \(expires)\(profile.map { ", profile \($0)" } ?? "")\(name.map { ", for \($0)" } ?? "")"
        summary += lanGrants.isEmpty ? ", no LAN routed without a grant" : ", LAN \(lanGrants.joined(separator: " "))"
        summary += agent.map { ", agent \($0.summary)" } ?? ", no agent served by the hub"
        return WGEnrollInstructions(tokenID: id, token: secret, hubURL: url, pin: pin, profile: profile, summary: summary, agent: agent)
    }

    /// What the last `serve` recorded: its public URL (unless given), its pin (nil for plain HTTP), its agent.
    static func recorded(store: WGHubStore, dataDirectory: String, hubURL: String?) throws -> (String, String?, WGAgentInfo?) {
        let url = try hubURL ?? store.meta("public_url") ?? "https://HUB:8443"
        let pin = try pin(store: store, dataDirectory: dataDirectory).flatMap { $0.isEmpty ? nil : $0 }
        return (url, pin, WGAgentInfo.fromMeta(try store.meta(WGAgentInfo.metaKey)))
    }

    /// The hub's key pin: as `serve` recorded it, else from the certificate in the data folder.
    public static func pin(store: WGHubStore, dataDirectory: String) throws -> String? {
        if let stored = try store.meta("pin") { return stored }
        let cert = (dataDirectory as NSString).appendingPathComponent(WGTLSIdentity.certificateFile)
        if FileManager.default.fileExists(atPath: cert) { return try WGTLSIdentity.pin(certificatePath: cert) }
        return nil
    }

    /// `wgagent enroll --hub … --token … [--profile …] --pin …` (or `--allow-insecure-http` for a plain-HTTP hub).
    public func enrollArgv(executable: String = "wgagent") -> [String] {
        var argv = [executable, "enroll", "--hub", hubURL, "--token", token]
        if let profile { argv += ["--profile", profile] }
        if let pin { argv += ["--pin", pin] } else if hubURL.hasPrefix("http://") { argv += ["--allow-insecure-http"] }
        return argv + vars.flatMap { ["--var", $0] }
    }

    /// The argv as one line to paste into a shell: every value quoted where a shell would read it otherwise
    /// (a `--var` value may hold spaces, `$(…)` or `;`).
    public func enrollLine(executable: String = "wgagent") -> String { WGText.shellLine(enrollArgv(executable: executable)) }

    /// The runcmd argv of the bootstrap form: the token in the environment of the script (not in its file, not
    /// on curl's command line), URL, pin and one ARCH=SHA256 per architecture the hub serves as arguments; enroll
    /// arguments beyond hub, token and pin after `--`.
    public func bootstrapArgv() throws -> [String] {
        if let problem = Self.bootstrapProblem(hubURL: hubURL, pin: pin, agent: agent) { throw WGEnrollInstructionsError(problem) }
        guard let agent, let pin else { return [] }
        var argv = ["env", "WGAGENT_TOKEN=\(token)", Self.bootstrapPath, hubURL, pin]
        argv += agent.architectures.keys.sorted().map { "\($0)=\(agent.architectures[$0]!.sha256)" }
        let extra = (profile.map { ["--profile", $0] } ?? []) + vars.flatMap { ["--var", $0] }
        if !extra.isEmpty { argv += ["--"] + extra }
        return argv
    }

    /// A `--var` value as the agent takes it: `name=value`, a profile variable's name, one line.
    public static func checkVar(_ v: String) -> String? {
        let name = v.prefix(while: { $0 != "=" })
        guard name.count < v.count, !name.isEmpty, name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }) else {
            return "--var \"\(v)\": key=value with a profile variable's name (lowercase, digits, _), e.g. lan_access=route"
        }
        guard !v.contains(where: { $0.isNewline }), v.count <= 512 else { return "--var \"\(name)=…\": one line of at most 512 characters" }
        return nil
    }

    /// Why the bootstrap form cannot be printed (no agent served, no HTTPS pin); nil when it can.
    static func bootstrapProblem(hubURL: String, pin: String?, agent: WGAgentInfo?) -> String? {
        guard let agent, !agent.architectures.isEmpty else {
            return "the hub serves no agent binary (its last `wghub serve` recorded none): start serve with --agent-binary FILE, "
                + "or pass --agent-present for an image that already has \(agentPath)"
        }
        guard hubURL.hasPrefix("https://"), pin != nil else {
            return "fetching the agent needs the hub's HTTPS and its pin (\(hubURL) has none): serve without --insecure-http, "
                + "or pass --agent-present for an image that already has \(agentPath)"
        }
        return nil
    }

    /// Throws what `bootstrapProblem` finds for the store as the last `serve` left it: before a token is made.
    public static func checkBootstrap(store: WGHubStore, dataDirectory: String, hubURL: String? = nil) throws {
        let (url, pin, agent) = try recorded(store: store, dataDirectory: dataDirectory, hubURL: hubURL)
        if let problem = bootstrapProblem(hubURL: url, pin: pin, agent: agent) { throw WGEnrollInstructionsError(problem) }
    }

    /// The bootstrap script (Templates/wgagent-bootstrap.sh.mustache): fixed text, no value from the token.
    public static func bootstrapScript(files: WGFileSource = WGFileSource()) throws -> String {
        try WGTemplates.render(try files.template("wgagent-bootstrap.sh.mustache"), ["hub_version": WGModelVersion.agentVersion])
    }

    /// `#cloud-config` user-data. `agentPresent`: the image has the agent at /usr/local/bin/wgagent, runcmd only.
    /// Otherwise write_files puts the bootstrap script at /usr/local/sbin/wgagent-bootstrap (root, 0700) and the one
    /// runcmd item runs it.
    public func userData(agentPresent: Bool, files: WGFileSource = WGFileSource()) throws -> String {
        let about = summary.replacingOccurrences(of: "token \(tokenID): ", with: "token \(tokenID), ")
        if agentPresent {
            return try WGCloudInit.userData(argv: enrollArgv(executable: Self.agentPath), hub: hubURL, about: about, files: files)
        }
        return try WGCloudInit.bootstrapUserData(argv: try bootstrapArgv(), script: try Self.bootstrapScript(files: files),
                                                 hub: hubURL, about: about, files: files)
    }
}

public struct WGEnrollInstructionsError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
