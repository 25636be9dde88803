#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// What `wgagent enroll` was asked to do.
public struct WGEnrollOptions: Sendable {
    public var hubURL: String
    public var token: String
    public var pin: String?
    public var caFile: String?
    public var insecureHTTP: Bool
    public var profile: WGProfile
    /// Extra profile values (`--var k=v`), kept in the enrollment file for later runs.
    public var vars: [String]
    /// Ask the hub again even when this machine is already enrolled there with the same key.
    public var reenroll: Bool
    /// Seconds the whole enroll request may take (a hub that drips its answer is cut off here).
    public var timeout: Double = 30

    public init(hubURL: String, token: String, pin: String? = nil, caFile: String? = nil, insecureHTTP: Bool = false,
                profile: WGProfile, vars: [String] = [], reenroll: Bool = false) {
        self.hubURL = hubURL
        self.token = token
        self.pin = pin
        self.caFile = caFile
        self.insecureHTTP = insecureHTTP
        self.profile = profile
        self.vars = vars
        self.reenroll = reenroll
    }

    /// Values the hub decides: giving them with --var is refused.
    static let hubOwned = ["address", "hub_public_key"]
    /// Largest enroll answer read (wghub's is well under 1 KiB).
    public static let maxAnswerBytes = 64 << 10
}

/// What enrollment did, for the account `wgagent enroll` prints.
public struct WGEnrollResult: Sendable {
    public var enrollment: WGEnrollment
    /// false when the machine was already enrolled with this hub and key (the token was not used again).
    public var contactedHub: Bool
    /// The keys resource's outcome: created, adopted or kept.
    public var keys: WGResourceOutcome
    /// All profile values for the apply that follows: the hub's answer, then the extra --var values.
    public var applyValues: [String]
}

/// Enrollment against the hub, touching the machine only through `WGHost`:
/// key (generated once, reused after), POST /v1/enroll, the enrollment file.
public final class WGEnroller {
    public let host: WGHost
    public let facts: WGFacts
    public let files: WGFileSource
    public var progress: (String) -> Void = { _ in }
    public var now: () -> Date = Date.init

    public init(host: WGHost, facts: WGFacts, files: WGFileSource = WGFileSource()) {
        self.host = host
        self.facts = facts
        self.files = files
    }

    public func enroll(_ o: WGEnrollOptions) throws -> WGEnrollResult {
        // Everything that can be refused without touching the machine is refused first.
        for v in o.vars {
            let name = String(v.prefix(while: { $0 != "=" }))
            if WGEnrollOptions.hubOwned.contains(name) { throw WGEnrollError.hubOwnedVariable(name) }
        }
        var client = try WGHTTPClient(baseURL: o.hubURL, verification: .from(pin: o.pin, caFile: o.caFile),
                                      allowInsecureHTTP: o.insecureHTTP, connectTimeout: 10, timeout: o.timeout)
        // An enroll answer is a few hundred bytes: anything near the limit is not wghub's.
        client.maxAnswerBytes = WGEnrollOptions.maxAnswerBytes

        let iface = o.profile.interface
        let machine = WGMachineIdentity.read(host)
        var saved = try WGEnrollmentStore.load(host)
        if let old = saved, let was = old.machine, let why = machine.change(from: was) {
            try setAsideClone(old, reason: why)
            saved = nil
        }
        let keys = try convergeKeys(o.profile)
        guard let key = try WGKeysResource.existingPrivateKey(host, interface: iface) else {
            throw WGEnrollError.keys("\(WGKeysResource.privatePath(iface)) is missing after the keys step")
        }
        let publicKey = key.publicKey.base64
        let hostname = WGMachineName.read(host)
        let listenPort = Self.value("listen_port", in: o.vars).flatMap { Int($0) }
            ?? o.profile.variable("listen_port")?.defaultValue.flatMap { Int($0) } ?? 51820

        if let saved, !o.reenroll, saved.hubURL == client.baseURL,
           saved.publicKey == publicKey, saved.interface == iface {
            // Already enrolled here with this key: the hub keeps our address; the token may be used up by now.
            progress("already enrolled with \(saved.hubURL) as site \(saved.siteID.map(String.init) ?? "?") (\(saved.address)); the token is not used again")
            var e = saved
            e.vars = Self.merge(saved.vars, o.vars)
            e.profile = o.profile.name
            if e.machine == nil { e.machine = machine }   // an older agent's file: this machine made it
            if e != saved { try WGEnrollmentStore.save(e, host: host) }
            return WGEnrollResult(enrollment: e, contactedHub: false, keys: keys, applyValues: Self.applyValues(e, profile: o.profile))
        }

        let lan: [String]
        if o.profile.variable("lan_subnets") == nil {
            lan = []
        } else if let given = Self.value("lan_subnets", in: o.vars) {
            lan = given.split(separator: ",").map { $0.wgTrimmed(.whitespaces) }.filter { !$0.isEmpty }
        } else {
            lan = facts.egressSubnets
        }
        let request = WGEnrollRequest(
            token: o.token, publicKey: publicKey, hostname: hostname, listenPort: listenPort,
            os: "\(facts.os.id)-\(facts.os.versionID)", agentVersion: WGModelVersion.agentVersion, lanSubnets: lan,
            machine: machine.fingerprint)
        progress("enrolling \(hostname) (\(publicKey)) with \(client.baseURL)")
        let answer: WGEnrollResponse
        do {
            // Re-enrolling the same key proves it with the site's credential: the hub re-enrolls an enrolled
            // key for nobody else (a public key is public).
            let proof = saved.flatMap { $0.hubURL == client.baseURL && $0.publicKey == publicKey ? $0.credential : nil }
            answer = try client.post("/v1/enroll", request, bearer: proof)
        } catch let e as WGHTTPClientError {
            if case .hub(let status, let body, _) = e {
                let reason = body?.error ?? "no reason given", message = body?.message ?? "the hub answered \(status)"
                if status == 401 || status == 403 {
                    throw WGEnrollError.tokenRefused(status: status, reason: reason, message: message, hub: client.baseURL)
                }
                throw WGEnrollError.hubRefused(status: status, reason: reason, message: message, hub: client.baseURL)
            }
            throw e
        }
        // Checked before anything is saved: a refused answer leaves the machine as it was (but for the key).
        try WGEnrollAnswerCheck(profile: o.profile, ownPublicKey: publicKey, lanSubnets: lan, vars: o.vars, hub: client.baseURL)
            .check(answer)
        let e = WGEnrollment(
            hubURL: client.baseURL, pin: o.pin, caFile: o.caFile, insecureHTTP: o.insecureHTTP, credential: answer.credential,
            siteID: answer.siteID, hostname: hostname, profile: o.profile.name, interface: iface, publicKey: publicKey,
            listenPort: listenPort, address: answer.address, hubPublicKey: answer.hubPublicKey, hubEndpoint: answer.hubEndpoint,
            allowedIPs: answer.allowedIPs, keepalive: answer.keepalive, vars: o.vars, enrolledAt: Int64(now().timeIntervalSince1970),
            machine: machine)
        try WGEnrollmentStore.save(e, host: host)
        return WGEnrollResult(enrollment: e, contactedHub: true, keys: keys, applyValues: Self.applyValues(e, profile: o.profile))
    }

    /// A clone of an enrolled machine (see `WGMachineIdentity.change`): the original's key, enrollment and unsent
    /// reports are set aside beside them (kept, 0600, never used here) so that this machine enrolls as itself,
    /// with a key of its own. The original keeps its key and address.
    func setAsideClone(_ old: WGEnrollment, reason: String) throws {
        let suffix = ".original-site-\(old.siteID.map(String.init) ?? "unknown")"
        progress("this machine is not the one that enrolled as site \(old.siteID.map(String.init) ?? "?") (\(reason)): a clone; "
                 + "the original's key and enrollment are set aside (*\(suffix)) and this machine enrolls with a key of its own")
        // The tunnel runs on the original's key (its wg0.conf holds it too, and the keys step would adopt it from
        // there): stopped first, while its config is still there for `wg-quick down`.
        let initSystem = facts.initSystem
        _ = try? host.run(initSystem.stopArgv(initSystem.wireguardService(old.interface)))
        for path in [WGKeysResource.privatePath(old.interface), WGKeysResource.publicPath(old.interface),
                     WGInterfaceConfigResource.path(old.interface), WGEnrollmentStore.path] {
            guard let data = try host.readFile(path) else { continue }
            if !host.fileExists(path + suffix) { try host.writeFileAtomically(path + suffix, contents: data, permissions: 0o600) }
            try host.removeFile(path)
        }
        let spool = WGSpool(host: host)
        for seq in spool.pending() { try spool.remove(seq) }
    }

    /// The `keys` resource alone: /etc/wireguard 0700, the key generated once (or adopted) and kept.
    func convergeKeys(_ profile: WGProfile) throws -> WGResourceOutcome {
        let ctx = WGContext(host: host, facts: facts, spec: .interfaceOnly(profile: profile), files: files)
        let applier = WGApplier(context: ctx, resources: [WGKeysResource()])
        applier.progress = progress
        let report = applier.run(dryRun: false)
        guard let outcome = report.resources.first, outcome.status != .failed else {
            throw WGEnrollError.keys(report.resources.first?.error ?? "no outcome")
        }
        return outcome
    }

    /// The hub's values the profile declares, then the extra values (which win, e.g. a hub_endpoint by another name).
    public static func applyValues(_ e: WGEnrollment, profile: WGProfile) -> [String] {
        let fromHub = e.hubValues.filter { v in profile.variable(String(v.prefix(while: { $0 != "=" }))) != nil }
        return fromHub + e.vars
    }

    static func value(_ name: String, in vars: [String]) -> String? {
        vars.last { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    /// Earlier values, replaced by name by the new ones.
    static func merge(_ old: [String], _ new: [String]) -> [String] {
        let names = Set(new.map { String($0.prefix(while: { $0 != "=" })) })
        return old.filter { !names.contains(String($0.prefix(while: { $0 != "=" }))) } + new
    }
}

enum WGSecretText {
    static func isPlausible(_ s: String) -> Bool { !s.isEmpty && s.count < 512 && !s.contains(where: { $0.isNewline || $0 == " " }) }
}
