import Foundation
import Logging
import WGModel

/// A site as the dashboard, the admin API and /metrics see it: the stored record, the hub interface's view
/// of the peer, and the status derived from both.
public struct WGSiteView: Sendable, Codable, Equatable {
    public var id: Int64
    public var hostname: String
    public var publicKey: String
    public var address: String
    public var lanSubnets: [String]
    /// What the hub does with each announced LAN prefix: routed, pending a grant, or refused (with the reason).
    public var lan: [WGLANRoute]
    public var observedAddress: String?
    public var endpoint: String?
    public var latestHandshake: Int64?
    public var receiveBytes: UInt64?
    public var transmitBytes: UInt64?
    public var lastReportAt: Date?
    public var lastSeq: Int64?
    public var status: WGSiteStatus
    public var probeVerdict: String?
    /// The agent's words for the last probe (forwarded; not reaching the VM; …), when it sent them.
    public var probeDetail: String?
    public var probeAt: Date?
    public var failingChecks: [String]
    public var os: String?
    public var agentVersion: String?
    public var enrolledAt: Date
    public var forwarding: Bool?
    public var firewall: String?
    public var service: String?
    /// The last time a machine other than the enrolled one reported with this site's credential.
    public var machineConflictAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, hostname, address, endpoint, status, os, forwarding, firewall, service, lan
        case machineConflictAt = "machine_conflict_at"
        case publicKey = "public_key"
        case lanSubnets = "lan_subnets"
        case observedAddress = "observed_address"
        case latestHandshake = "latest_handshake"
        case receiveBytes = "rx_bytes"
        case transmitBytes = "tx_bytes"
        case lastReportAt = "last_report_at"
        case lastSeq = "last_seq"
        case probeVerdict = "probe_verdict"
        case probeDetail = "probe_detail"
        case probeAt = "probe_at"
        case failingChecks = "failing_checks"
        case agentVersion = "agent_version"
        case enrolledAt = "enrolled_at"
    }

    /// Worst first: offline, stale, online; then more failing checks; then a port forward not proven open.
    static func worstFirst(_ a: WGSiteView, _ b: WGSiteView) -> Bool {
        if a.status != b.status { return a.status < b.status }
        if a.failingChecks.count != b.failingChecks.count { return a.failingChecks.count > b.failingChecks.count }
        let ap = a.probeVerdict == "open", bp = b.probeVerdict == "open"
        if ap != bp { return !ap }
        return (a.hostname, a.id) < (b.hostname, b.id)
    }
}

/// The coordinator's logic, independent of HTTP: the routes are thin wrappers around it.
///
/// Nothing here blocks a cooperative thread: the store is read and written through GRDB's async API, and
/// `wg`/`ip` run through `WGBlockingWork` (or inside GRDB's writer, which is a dispatch queue of its own).
public final class WGHubService: Sendable {
    public let config: WGHubConfiguration
    public let store: WGHubStore
    public let sync: WGInterfaceSync
    public let metrics: WGHubMetrics
    /// Failed enrollments.
    public let limiter: WGFailureRateLimiter
    /// Refused credentials and admin tokens.
    public let authLimiter: WGFailureRateLimiter
    let probeLimiter: WGWindowCounter
    public let admission: WGConnectionAdmission
    public let prober: any WGProbeSender
    public let logger: Logger
    public let hubPublicKey: String
    /// The agent binaries `GET /v1/agent/{arch}` hands out (loaded once at start).
    public var agent: WGAgentBundle { downloads.bundle }
    /// Its downloads: representations, ranges, slots (WGAgentDownloads).
    public let downloads: WGAgentDownloads
    /// Browser sessions of signed-in admins (WGBrowserRoutes).
    public let sessions = WGSessions()
    private let dumpCache = WGDumpCache()
    let hostCache = WGHostNetworksCache()
    /// Incidents and their notifications (run by `runServer`, or driven by `evaluate` in tests).
    public var alerts: WGAlertEvaluator { WGAlertEvaluator(hub: self) }

    public init(
        config: WGHubConfiguration, store: WGHubStore, control: any WGInterfaceControl, prober: any WGProbeSender = WGUDPProbeSender(),
        agent: WGAgentBundle = .none, logger: Logger = Logger(label: "wghub")
    ) throws {
        self.config = config
        self.store = store
        store.healthBatcher.maxBatch = config.healthBatch
        self.sync = WGInterfaceSync(control: control, pool: config.pool)
        self.metrics = WGHubMetrics()
        self.limiter = WGFailureRateLimiter(
            limit: config.enrollFailureLimit, window: config.enrollFailureWindow,
            networkLimit: config.enrollFailureLimit * 3, globalLimit: config.enrollFailureGlobalLimit)
        self.authLimiter = WGFailureRateLimiter(limit: config.authFailureLimit, window: config.enrollFailureWindow,
                                                networkLimit: config.authFailureLimit * 3)
        self.probeLimiter = WGWindowCounter(limit: config.probeLimit, window: 60)
        self.downloads = WGAgentDownloads(bundle: agent, limits: config.downloads, perMinute: config.agentDownloadLimit, metrics: metrics)
        self.admission = WGConnectionAdmission(limits: config.connections)
        self.prober = prober
        self.logger = logger
        do {
            self.hubPublicKey = try control.dump().publicKey.base64
        } catch {
            throw WGHubStartError("cannot read the hub interface \(control.interfaceName) (`wg show \(control.interfaceName) dump`): \(error)\n"
                + "bring it up first (`wgagent apply --profile hub`), or pass --no-interface --hub-public-key KEY for a hub without one")
        }
    }

    /// The LAN policy with the hub's networks as last read (refreshed at most every few seconds).
    func policy() async -> WGLANPolicy {
        let host = await hostCache.get(control: sync.control, logger: logger, metrics: metrics)
        return WGLANPolicy(pool: config.pool, shortestPrefix4: config.shortestLANPrefix4, shortestPrefix6: config.shortestLANPrefix6, host: host)
    }

    /// Brings the interface in line with the store (on start, and when the CLI changed the store).
    @discardableResult
    public func reconcile() async throws -> WGInterfaceSync.Report {
        hostCache.invalidate()
        let sites = try await store.allSites()
        let policy = await policy()
        let sync = self.sync
        let report = try await WGBlockingWork.run { try sync.reconcile(sites: sites, policy: policy) }
        dumpCache.invalidate()
        logger.info("interface \(sync.control.interfaceName) reconciled", metadata: [
            "added": "\(report.added.count)", "updated": "\(report.updated.count)",
            "removed": "\(report.removed.count)", "unchanged": "\(report.unchanged.count)",
            "routes_removed": "\(report.routesRemoved.joined(separator: ","))",
        ])
        return report
    }

    /// Reconciles whenever the store's generation changes (a `wghub site` command in another process), until cancelled.
    public func watchStore(every seconds: Double = 2) async {
        var seen = (try? await store.generation()) ?? "0"
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            guard let now = try? await store.generation(), now != seen else { continue }
            seen = now
            store.credentials.invalidate()
            do { try await reconcile() } catch { logger.error("reconcile after a store change failed: \(error)") }
        }
    }

    // MARK: enrollment

    public func enroll(_ raw: WGEnrollRequest, credential: String? = nil, from client: String?) async throws -> WGEnrollResponse {
        let source = client ?? "unknown"
        switch limiter.verdict(source) {
        case .allowed: break
        case .address, .network: throw WGHubError.rateLimited
        case .global:
            // Lockdown: a flood of bad enrollments from many networks. Only a request carrying a usable token
            // (or a site's own credential) is answered, so real sites still get in.
            var ok = (try? await store.isUsableEnrollToken(raw.token)) == true
            if !ok, let credential { ok = (try? await store.siteKey(credential: credential)) != nil }
            guard ok else { metrics.refusal(WGHubError.lockdown.reason); throw WGHubError.lockdown }
        }
        do {
            guard !raw.token.isEmpty || credential != nil else { throw WGHubError.tokenMissing }
            let request = try WGHubValidation.enroll(raw, pool: config.pool)
            guard request.publicKey != hubPublicKey else {
                throw WGHubError.invalid("public_key", "this is the hub's own public key: run `wgagent keygen` on the site")
            }
            // A LAN that holds the address this request came from is how the hub reaches the site: routing it
            // would cut the hub off from the site. The policy refuses it (via the observed address); it stays visible.
            let sync = self.sync
            let policy = await policy()
            let outcome = try await store.enroll(
                tokenSecret: request.token, credential: credential, request: request, observedAddress: client,
                pool: config.pool, policy: policy, apply: { outcome in try sync.apply(outcome) })
            metrics.count("wghub_enrollments_total")
            dumpCache.invalidate()
            logger.info("enrolled", metadata: [
                "site": "\(outcome.site.id)", "hostname": "\(outcome.site.hostname)", "address": "\(outcome.site.address)",
                "new": "\(outcome.isNew)", "from": "\(source)", "routed": "\(outcome.routed.joined(separator: ","))",
            ])
            return WGEnrollResponse(
                address: config.pool.withPrefix(outcome.site.address), hubPublicKey: hubPublicKey,
                hubEndpoint: config.endpoint, allowedIPs: [config.pool.description],
                keepalive: config.keepalive, credential: outcome.credential, observedAddress: client, siteID: outcome.site.id)
        } catch let e as WGHubError {
            if [400, 401, 403, 409].contains(e.status) { limiter.recordFailure(source) }
            throw e
        }
    }

    // MARK: credentials

    /// Refuses sources that sent too many bad secrets, unless this secret is one already known good (from memory:
    /// no store read for a guess).
    func checkAuthThrottle(_ bearer: String, from client: String?) throws {
        let source = client ?? "unknown"
        guard authLimiter.isLimited(source) else { return }
        if store.cachedSiteKey(credential: bearer) != nil { return }
        throw WGHubError.authLimited
    }

    /// The whole site a checked credential belongs to (probes need its observed address and port); gone since: refused.
    public func site(key: WGSiteKey) async throws -> WGSite {
        guard let site = try await store.site(id: key.id), site.publicKey == key.publicKey else { throw WGHubError.credentialRefused }
        return site
    }

    /// The sender of a health report: id and key only, usually from memory (no read per report).
    public func siteKey(bearer: String?, from client: String? = nil) async throws -> WGSiteKey {
        guard let bearer, !bearer.isEmpty else { throw WGHubError.credentialMissing }
        try checkAuthThrottle(bearer, from: client)
        guard let key = try await store.siteKey(credential: bearer) else {
            authLimiter.recordFailure(client ?? "unknown")
            throw WGHubError.credentialRefused
        }
        return key
    }

    // MARK: health

    public func health(_ report: WGHealthReport, body: String, site: WGSite, from client: String?) async throws -> WGHealthAck {
        try await health(report, body: body, site: WGSiteKey(site), from: client)
    }

    public func health(_ raw: WGHealthReport, body rawBody: String, site: WGSiteKey, from client: String?) async throws -> WGHealthAck {
        let (report, changed) = try WGHubValidation.health(raw)
        // The stored body is what views and alerts read back: the cleaned report when a detail was rewritten.
        let body = changed ? String(decoding: try WGHubJSON.encoder.encode(report), as: UTF8.self) : rawBody
        let stored = try await store.recordHealth(
            siteID: site.id, report: report, body: body, observedAddress: client, retention: config.retention,
            thresholds: config.thresholds, history: config.history)
        metrics.count(stored ? "wghub_health_reports_total" : "wghub_health_duplicates_total")
        for r in (report.probeResults ?? []).prefix(4) {
            if let id = r.probeID { _ = try? await completeProbe(id: id, nonce: r.nonce, agentVerdict: r.verdict, siteID: site.id) }
        }
        let peer = await peers()[site.publicKey]
        let status = config.thresholds.status(latestHandshake: peer?.latestHandshake, lastReport: Date(), now: Date())
        return WGHealthAck(seq: report.seq, stored: stored, status: status.rawValue)
    }

    // MARK: probes

    public func probe(_ request: WGProbeRequest, site: WGSite, from client: String?) async throws -> WGProbeResponse {
        try WGHubValidation.port(request.port)
        // Each probe makes the hub send a datagram: without a limit a site could aim a stream of them.
        guard probeLimiter.take("\(site.id)") else { throw WGHubError.probeLimited }
        guard let target = client ?? site.observedAddress else {
            throw WGHubError(409, "no_observed_address", "the hub has not seen this site's address yet: send a health report first")
        }
        let nonce = WGHubSecrets.newNonce()
        let wgPort = await dumpPort()
        let probeID = try await store.createProbe(siteID: site.id, port: request.port, sentTo: Self.hostPort(target, request.port), nonce: nonce)
        do {
            let source = try prober.send(WGProbeDatagram.encode(probeID: probeID, nonce: nonce), host: target, port: request.port, avoidPort: wgPort)
            logger.info("probe sent", metadata: ["site": "\(site.id)", "to": "\(Self.hostPort(target, request.port))", "from_port": "\(source)"])
        } catch {
            throw WGHubError(502, "probe_send_failed", "could not send the probe: \(error)")
        }
        metrics.count("wghub_probes_sent_total")
        return WGProbeResponse(probeID: probeID, sentTo: Self.hostPort(target, request.port))
    }

    public func completeProbe(id: String, nonce: String?, agentVerdict: String? = nil, site: WGSite) async throws -> WGProbeVerdict {
        try await completeProbe(id: id, nonce: nonce, agentVerdict: agentVerdict, siteID: site.id)
    }

    func completeProbe(id: String, nonce: String?, agentVerdict: String? = nil, siteID: Int64) async throws -> WGProbeVerdict {
        if let agentVerdict, !WGProbeResult.agentVerdicts.contains(agentVerdict) {
            throw WGHubError(400, "invalid_verdict", "field \"verdict\": \"\(agentVerdict.prefix(60))\" is not one of: \(WGProbeResult.agentVerdicts.joined(separator: "; "))")
        }
        let verdict = try await store.completeProbe(siteID: siteID, probeID: id, seenNonce: nonce, agentVerdict: agentVerdict,
                                                 history: config.history)
        metrics.count("wghub_probe_results_total")
        return WGProbeVerdict(probeID: id, verdict: verdict)
    }

    static func hostPort(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    // MARK: admin

    /// The admin token's id when `bearer` is a valid admin token; refusals are counted against the source.
    /// A source over its limit gets 429 for every wrong token, but a valid one still passes (as a site's known
    /// credential does): bad guesses from a shared address (a NAT, a reverse proxy) must not lock the admin out.
    @discardableResult
    public func checkAdmin(_ bearer: String?, from client: String? = nil) async throws -> String {
        guard let bearer, !bearer.isEmpty else { throw WGHubError.adminRequired }
        let source = client ?? "unknown"
        if authLimiter.isLimited(source) {
            // Only something shaped like an admin token is looked up: other guesses cost no store read.
            guard bearer.hasPrefix(WGHubSecrets.adminPrefix), let token = try? await store.checkAdmin(secret: bearer) else {
                throw WGHubError.authLimited
            }
            return token.id
        }
        do {
            return try await store.checkAdmin(secret: bearer).id
        } catch let e as WGHubError {
            authLimiter.recordFailure(source)
            throw e
        }
    }

    // MARK: the agent binary

    /// Who may fetch the agent: a usable enrollment token (no use is spent), a site's credential, or the admin
    /// token. Anyone else gets 401/403, so the hub is not a free amplifier of a 15 MB download.
    public func checkAgentDownload(_ bearer: String?, from client: String? = nil) async throws {
        guard let bearer, !bearer.isEmpty else { throw WGHubError.agentAuthRequired }
        // A throttled address (shared by a NAT or a proxy with someone guessing) still gets the agent with a valid
        // token or credential; every other bearer from it is 429 without counting further.
        let limited = authLimiter.isLimited(client ?? "unknown")
        let ok: Bool
        if bearer.hasPrefix(WGHubSecrets.enrollPrefix) {
            ok = try await store.isUsableEnrollToken(bearer)
        } else if bearer.hasPrefix(WGHubSecrets.credentialPrefix) {
            ok = try await store.siteKey(credential: bearer) != nil
        } else if bearer.hasPrefix(WGHubSecrets.adminPrefix) {
            ok = (try? await store.checkAdmin(secret: bearer)) != nil
        } else {
            ok = false
        }
        guard ok else {
            if limited { throw WGHubError.authLimited }
            authLimiter.recordFailure(client ?? "unknown")
            throw WGHubError.agentAuthRefused
        }
    }

    public func deleteSite(id: Int64) async throws -> WGSite {
        let sync = self.sync
        let policy = await policy()
        guard let site = try await store.deleteSite(id: id, apply: { site, others in
            try sync.remove(site, routed: policy.routed(site, others: others))
        }) else {
            throw WGHubError(404, "site_unknown", "no site \(id): list them with GET /v1/sites")
        }
        metrics.count("wghub_sites_deleted_total")
        dumpCache.invalidate()
        logger.info("site deleted", metadata: ["site": "\(id)", "hostname": "\(site.hostname)"])
        return site
    }

    /// Grants (or withdraws) LAN prefixes of a site and applies what the policy then routes.
    public func updateGrants(siteID: Int64, grant: [String], revoke: [String]) async throws -> WGSiteView {
        let sync = self.sync
        let policy = await policy()
        let site = try await store.updateGrants(siteID: siteID, grant: grant, revoke: revoke, policy: policy) { site, others, before in
            try sync.update(site, routed: policy.routed(site, others: others), before: policy.routed(before, others: others))
        }
        metrics.count("wghub_lan_grant_changes_total")
        dumpCache.invalidate()
        logger.info("LAN grants changed", metadata: [
            "site": "\(siteID)", "granted": "\(site.lanGranted.joined(separator: ","))",
            "added": "\(grant.joined(separator: ","))", "withdrawn": "\(revoke.joined(separator: ","))",
        ])
        return try await view(id: siteID)
    }

    // MARK: views

    /// The hub interface's peers by public key (cached for a second; empty when the interface cannot be read).
    public func peers() async -> [String: WGDumpPeer] {
        await dumpCache.get(control: sync.control, logger: logger, metrics: metrics)?.peers ?? [:]
    }

    func dumpPort() async -> Int? {
        (await dumpCache.get(control: sync.control, logger: logger, metrics: metrics)?.listenPort).map(Int.init)
    }

    public func views(now: Date = Date()) async throws -> [WGSiteView] {
        let sites = try await store.allSites()
        let peers = await peers()
        let policy = await policy()
        let claims = WGLANPolicy.claims(sites)  // parsed once, not once per site
        return sites.map { s in
            view(s, peer: peers[s.publicKey], lan: policy.decide(s, claims: claims), now: now)
        }.sorted(by: WGSiteView.worstFirst)
    }

    public func view(id: Int64) async throws -> WGSiteView { try await siteView(id: id).view }

    /// The stored site and its view (the site page also needs the grants, which the view does not carry).
    func siteView(id: Int64) async throws -> (site: WGSite, view: WGSiteView) {
        let sites = try await store.allSites()
        guard let site = sites.first(where: { $0.id == id }) else {
            throw WGHubError(404, "site_unknown", "no site \(id): list them with GET /v1/sites")
        }
        let lan = await policy().decide(site, others: sites.filter { $0.id != id })
        return (site, view(site, peer: await peers()[site.publicKey], lan: lan, now: Date()))
    }

    func view(_ s: WGSite, peer: WGDumpPeer?, lan: [WGLANRoute], now: Date) -> WGSiteView {
        let hs = peer.map(\.latestHandshake)
        let last = s.lastReport
        return WGSiteView(
            id: s.id, hostname: s.hostname, publicKey: s.publicKey, address: s.address, lanSubnets: s.lanSubnets, lan: lan,
            observedAddress: s.observedAddress, endpoint: peer?.endpoint, latestHandshake: hs,
            receiveBytes: peer?.receiveBytes, transmitBytes: peer?.transmitBytes, lastReportAt: s.lastReportAt,
            lastSeq: s.lastSeq, status: config.thresholds.status(latestHandshake: hs, lastReport: s.lastReportAt, now: now),
            probeVerdict: s.probeVerdict, probeDetail: s.probeDetail, probeAt: s.probeAt,
            failingChecks: (last?.checks ?? []).filter { !$0.ok }.map { c in c.detail.map { "\(c.name): \($0)" } ?? c.name }
                + (s.machineConflictAt.map { at in
                    ["identity: a second machine reported with this site's credential (\(ISO8601DateFormatter().string(from: at))): "
                     + "a cloned disk or a stolen credential; delete the site and enroll each machine with its own token"] } ?? []),
            os: s.os, agentVersion: s.agentVersion, enrolledAt: s.enrolledAt,
            forwarding: last?.forwarding, firewall: last?.firewall, service: last?.service, machineConflictAt: s.machineConflictAt)
    }
}

public struct WGHubStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// One `wg show dump` per second at most, shared by the dashboard, /metrics and health acks. Concurrent callers
/// share one read in flight, run off the cooperative pool: a storm of dashboard loads starts one `wg`, not hundreds.
final class WGDumpCache: @unchecked Sendable {
    struct Entry: Sendable { var at: Date; var peers: [String: WGDumpPeer]; var listenPort: UInt16? }
    private let lock = NSLock()
    private var entry: Entry?
    private var inFlight: Task<Entry?, Never>?

    func invalidate() { lock.withLock { entry = nil } }

    func get(control: any WGInterfaceControl, logger: Logger, metrics: WGHubMetrics) async -> Entry? {
        if let e = lock.withLock({ entry }), Date().timeIntervalSince(e.at) < 1 { return e }  // the common case: no task
        let task: Task<Entry?, Never> = lock.withLock {
            if let e = entry, Date().timeIntervalSince(e.at) < 1 { return Task { e } }
            if let t = inFlight { return t }
            let t = Task<Entry?, Never> {
                do {
                    let dump = try await WGBlockingWork.run { try control.dump() }
                    var peers: [String: WGDumpPeer] = [:]
                    for p in dump.peers { peers[p.publicKey.base64] = p }
                    let e = Entry(at: Date(), peers: peers, listenPort: dump.listenPort)
                    self.lock.withLock { self.entry = e }
                    return e
                } catch {
                    metrics.count("wghub_interface_errors_total")
                    logger.warning("cannot read the hub interface: \(error)")
                    return nil
                }
            }
            inFlight = t
            return t
        }
        let e = await task.value
        lock.withLock { if inFlight == task { inFlight = nil } }  // the next caller after expiry starts a new read
        return e
    }
}

/// The hub's own networks (`ip addr`, `ip route`) for the LAN policy, read at most every 5 s, off the cooperative
/// pool, one read in flight. When they cannot be read the last known ones stay (none at first: then only the
/// pool, width and overlap checks apply, and the failure is logged and counted).
final class WGHostNetworksCache: @unchecked Sendable {
    private let lock = NSLock()
    private var value: WGHostNetworks?
    private var at: Date = .distantPast
    private var inFlight: Task<WGHostNetworks, Never>?

    func invalidate() { lock.withLock { at = .distantPast } }

    func get(control: any WGInterfaceControl, logger: Logger, metrics: WGHubMetrics) async -> WGHostNetworks {
        if let v = lock.withLock({ Date().timeIntervalSince(at) < 5 ? value : nil }) { return v }
        let task: Task<WGHostNetworks, Never> = lock.withLock {
            if let v = value, Date().timeIntervalSince(at) < 5 { return Task { v } }
            if let t = inFlight { return t }
            let last = value
            let t = Task<WGHostNetworks, Never> {
                do {
                    let v = try await WGBlockingWork.run { try control.hostNetworks() }
                    self.lock.withLock { self.value = v; self.at = Date() }
                    return v
                } catch {
                    metrics.count("wghub_interface_errors_total")
                    logger.warning("cannot read the hub's networks: \(error)")
                    return last ?? WGHostNetworks()
                }
            }
            inFlight = t
            return t
        }
        let v = await task.value
        lock.withLock { if inFlight == task { inFlight = nil } }
        return v
    }
}
