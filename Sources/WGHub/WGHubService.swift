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

    enum CodingKeys: String, CodingKey {
        case id, hostname, address, endpoint, status, os, forwarding, firewall, service
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
public final class WGHubService: Sendable {
    public let config: WGHubConfiguration
    public let store: WGHubStore
    public let sync: WGInterfaceSync
    public let metrics: WGHubMetrics
    public let limiter: WGFailureRateLimiter
    public let prober: any WGProbeSender
    public let logger: Logger
    public let hubPublicKey: String
    private let dumpCache = WGDumpCache()

    public init(
        config: WGHubConfiguration, store: WGHubStore, control: any WGInterfaceControl, prober: any WGProbeSender = WGUDPProbeSender(),
        logger: Logger = Logger(label: "wghub")
    ) throws {
        self.config = config
        self.store = store
        store.healthBatcher.maxBatch = config.healthBatch
        self.sync = WGInterfaceSync(control: control, pool: config.pool)
        self.metrics = WGHubMetrics()
        self.limiter = WGFailureRateLimiter(limit: config.enrollFailureLimit, window: config.enrollFailureWindow)
        self.prober = prober
        self.logger = logger
        do {
            self.hubPublicKey = try control.dump().publicKey.base64
        } catch {
            throw WGHubStartError("cannot read the hub interface \(control.interfaceName) (`wg show \(control.interfaceName) dump`): \(error)\n"
                + "bring it up first (`wgagent apply --profile hub`), or pass --no-interface --hub-public-key KEY for a hub without one")
        }
    }

    /// Brings the interface in line with the store (on start).
    @discardableResult
    public func reconcile() async throws -> WGInterfaceSync.Report {
        let sites = try await store.allSites()
        let report = try sync.reconcile(sites: sites)
        logger.info("interface \(sync.control.interfaceName) reconciled", metadata: [
            "added": "\(report.added.count)", "updated": "\(report.updated.count)",
            "removed": "\(report.removed.count)", "unchanged": "\(report.unchanged.count)",
        ])
        return report
    }

    // MARK: enrollment

    public func enroll(_ raw: WGEnrollRequest, from client: String?) async throws -> WGEnrollResponse {
        let source = client ?? "unknown"
        if limiter.isLimited(source) { throw WGHubError.rateLimited }
        do {
            guard !raw.token.isEmpty else { throw WGHubError.tokenMissing }
            var request = try WGHubValidation.enroll(raw, pool: config.pool)
            // A LAN that holds the address this request came from is how the hub reaches the site: routing it
            // into the tunnel would cut the hub off from the site (and lose this very answer). Not routed.
            if let client, let from = try? WGIPAddress(client) {
                let onPath = request.lanSubnets.filter { (try? WGCIDR($0))?.contains(from) == true }
                if !onPath.isEmpty {
                    logger.warning("LAN subnet not routed: the hub reaches the site through it", metadata: [
                        "subnets": "\(onPath.joined(separator: ","))", "from": "\(client)"])
                    request.lanSubnets.removeAll { onPath.contains($0) }
                }
            }
            let sync = self.sync
            let outcome = try await store.enroll(
                tokenSecret: request.token, request: request, observedAddress: client, pool: config.pool,
                apply: { outcome in try sync.apply(outcome) })
            metrics.count("wghub_enrollments_total")
            dumpCache.invalidate()
            logger.info("enrolled", metadata: [
                "site": "\(outcome.site.id)", "hostname": "\(outcome.site.hostname)", "address": "\(outcome.site.address)",
                "new": "\(outcome.isNew)", "from": "\(source)",
            ])
            return WGEnrollResponse(
                address: config.pool.withPrefix(outcome.site.address), hubPublicKey: hubPublicKey,
                hubEndpoint: config.endpoint, allowedIPs: [config.pool.description],
                keepalive: config.keepalive, credential: outcome.credential, observedAddress: client, siteID: outcome.site.id)
        } catch let e as WGHubError {
            if [400, 401, 403].contains(e.status) { limiter.recordFailure(source) }
            throw e
        }
    }


    // MARK: credentials

    public func site(bearer: String?) async throws -> WGSite {
        guard let bearer, !bearer.isEmpty else { throw WGHubError.credentialMissing }
        guard let site = try await store.site(credential: bearer) else { throw WGHubError.credentialRefused }
        return site
    }

    /// The sender of a health report: id and key only, usually from memory (no read per report).
    public func siteKey(bearer: String?) async throws -> WGSiteKey {
        guard let bearer, !bearer.isEmpty else { throw WGHubError.credentialMissing }
        guard let key = try await store.siteKey(credential: bearer) else { throw WGHubError.credentialRefused }
        return key
    }

    // MARK: health

    public func health(_ report: WGHealthReport, body: String, site: WGSite, from client: String?) async throws -> WGHealthAck {
        try await health(report, body: body, site: WGSiteKey(site), from: client)
    }

    public func health(_ report: WGHealthReport, body: String, site: WGSiteKey, from client: String?) async throws -> WGHealthAck {
        guard report.seq >= 0 else { throw WGHubError.invalid("seq", "must be ≥ 0") }
        guard !report.interface.isEmpty, report.interface.count <= 15 else { throw WGHubError.invalid("interface", "1…15 characters") }
        for (i, p) in report.peers.enumerated() where (try? WGKey(base64: p.publicKey)) == nil {
            throw WGHubError.invalid("peers[\(i)].public_key", "not a WireGuard public key")
        }
        let stored = try await store.recordHealth(
            siteID: site.id, report: report, body: body, observedAddress: client, retention: config.retention)
        metrics.count(stored ? "wghub_health_reports_total" : "wghub_health_duplicates_total")
        for r in report.probeResults ?? [] {
            if let id = r.probeID { _ = try? await completeProbe(id: id, nonce: r.nonce, agentVerdict: r.verdict, siteID: site.id) }
        }
        let peer = await peers()[site.publicKey]
        let status = config.thresholds.status(latestHandshake: peer?.latestHandshake, lastReport: Date(), now: Date())
        return WGHealthAck(seq: report.seq, stored: stored, status: status.rawValue)
    }

    // MARK: probes

    public func probe(_ request: WGProbeRequest, site: WGSite, from client: String?) async throws -> WGProbeResponse {
        try WGHubValidation.port(request.port)
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
        let verdict = try await store.completeProbe(siteID: siteID, probeID: id, seenNonce: nonce, agentVerdict: agentVerdict)
        metrics.count("wghub_probe_results_total")
        return WGProbeVerdict(probeID: id, verdict: verdict)
    }

    static func hostPort(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    // MARK: admin

    public func checkAdmin(_ bearer: String?) throws {
        guard let bearer, !bearer.isEmpty else { throw WGHubError.adminRequired }
        try store.checkAdmin(secret: bearer)
    }

    public func deleteSite(id: Int64) async throws -> WGSite {
        let sync = self.sync
        guard let site = try await store.deleteSite(id: id, apply: { try sync.remove($0) }) else {
            throw WGHubError(404, "site_unknown", "no site \(id): list them with GET /v1/sites")
        }
        metrics.count("wghub_sites_deleted_total")
        dumpCache.invalidate()
        logger.info("site deleted", metadata: ["site": "\(id)", "hostname": "\(site.hostname)"])
        return site
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
        return sites.map { view($0, peer: peers[$0.publicKey], now: now) }.sorted(by: WGSiteView.worstFirst)
    }

    public func view(id: Int64) async throws -> WGSiteView {
        guard let site = try await store.site(id: id) else {
            throw WGHubError(404, "site_unknown", "no site \(id): list them with GET /v1/sites")
        }
        return view(site, peer: await peers()[site.publicKey], now: Date())
    }

    func view(_ s: WGSite, peer: WGDumpPeer?, now: Date) -> WGSiteView {
        let hs = peer.map(\.latestHandshake)
        let last = s.lastReport
        return WGSiteView(
            id: s.id, hostname: s.hostname, publicKey: s.publicKey, address: s.address, lanSubnets: s.lanSubnets,
            observedAddress: s.observedAddress, endpoint: peer?.endpoint, latestHandshake: hs,
            receiveBytes: peer?.receiveBytes, transmitBytes: peer?.transmitBytes, lastReportAt: s.lastReportAt,
            lastSeq: s.lastSeq, status: config.thresholds.status(latestHandshake: hs, lastReport: s.lastReportAt, now: now),
            probeVerdict: s.probeVerdict, probeDetail: s.probeDetail, probeAt: s.probeAt,
            failingChecks: (last?.checks ?? []).filter { !$0.ok }.map { c in c.detail.map { "\(c.name): \($0)" } ?? c.name },
            os: s.os, agentVersion: s.agentVersion, enrolledAt: s.enrolledAt,
            forwarding: last?.forwarding, firewall: last?.firewall, service: last?.service)
    }
}

public struct WGHubStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// One `wg show dump` per second at most, shared by the dashboard, /metrics and health acks.
final class WGDumpCache: @unchecked Sendable {
    struct Entry { var at: Date; var peers: [String: WGDumpPeer]; var listenPort: UInt16? }
    private let lock = NSLock()
    private var entry: Entry?

    func invalidate() { lock.withLock { entry = nil } }

    func get(control: any WGInterfaceControl, logger: Logger, metrics: WGHubMetrics) async -> Entry? {
        if let e = lock.withLock({ entry }), Date().timeIntervalSince(e.at) < 1 { return e }
        do {
            let dump = try control.dump()
            var peers: [String: WGDumpPeer] = [:]
            for p in dump.peers { peers[p.publicKey.base64] = p }
            let e = Entry(at: Date(), peers: peers, listenPort: dump.listenPort)
            lock.withLock { entry = e }
            return e
        } catch {
            metrics.count("wghub_interface_errors_total")
            logger.warning("cannot read the hub interface: \(error)")
            return nil
        }
    }
}
