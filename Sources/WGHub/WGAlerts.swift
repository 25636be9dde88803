import Foundation
import Logging
import ServiceLifecycle
import WGModel

/// Sends what is due in the outbox: each row claimed for one attempt, marked delivered as soon as its receiver
/// acknowledged it (before anything else), otherwise retried with exponential backoff and jitter. Used by the
/// running hub and by `wghub alert test` (the claim keeps the two from sending one row twice).
public struct WGAlertDeliverer: Sendable {
    public let store: WGHubStore
    public let settings: WGAlertSettings
    public let metrics: WGHubMetrics?
    public let logger: Logger

    public init(store: WGHubStore, settings: WGAlertSettings, metrics: WGHubMetrics? = nil, logger: Logger = Logger(label: "wghub")) {
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
    }

    /// What one attempt did, by delivery id: nil = delivered, else the error.
    public typealias Outcome = (deliveryID: String, receiverID: String, error: String?)

    /// Sends the due rows (only `id` when given), at most 8 at a time; returns what each attempt did.
    @discardableResult
    public func deliverDue(now: Date = Date(), id: String? = nil, limit: Int = 64) async -> [Outcome] {
        let lease = settings.connectTimeout + settings.totalTimeout + 30
        let claimed: [WGClaimedDelivery]
        do { claimed = try await store.claimDue(now: now, lease: lease, limit: limit, id: id) } catch {
            logger.error("alert outbox: cannot read: \(error)")
            return []
        }
        var outcomes: [Outcome] = []
        for chunk in stride(from: 0, to: claimed.count, by: 8).map({ Array(claimed[$0..<min($0 + 8, claimed.count)]) }) {
            await withTaskGroup(of: Outcome.self) { group in
                for d in chunk { group.addTask { await self.attempt(d, now: now) } }
                for await o in group { outcomes.append(o) }
            }
        }
        return outcomes
    }

    private func attempt(_ d: WGClaimedDelivery, now: Date) async -> Outcome {
        let channel = d.receiver.channel
        do {
            try await WGAlertSender.send(d, settings: settings)
        } catch {
            let attempts = d.attempts + 1
            let giveUp = attempts >= settings.maxAttempts
            let retry = settings.backoff(afterAttempts: attempts)
            try? await store.markFailed(d.deliveryID, error: "\(error)", retryIn: retry, giveUp: giveUp, now: now)
            metrics?.count("wghub_alerts_failed_total", label: "channel", channel)
            logger.warning("alert delivery failed", metadata: [
                "delivery": "\(d.deliveryID)", "receiver": "\(d.receiver.id)", "attempt": "\(attempts)", "error": "\(error)",
                "next": giveUp ? "given up" : "in \(WGDurations.describe(retry))",
            ])
            return (d.deliveryID, d.receiver.id, "\(error)")
        }
        // Acknowledged: recorded before anything else, so it is never sent to this receiver again. Should this write
        // fail, the row is sent again after its lease (at least once); the delivery id lets the receiver drop it.
        do { try await store.markDelivered(d.deliveryID, now: max(now, Date())) } catch {
            logger.error("alert delivered but not recorded: \(error)", metadata: ["delivery": "\(d.deliveryID)"])
        }
        metrics?.count("wghub_alerts_sent_total", label: "channel", channel)
        logger.info("alert delivered", metadata: ["delivery": "\(d.deliveryID)", "receiver": "\(d.receiver.id)", "channel": "\(channel)"])
        return (d.deliveryID, d.receiver.id, nil)
    }
}

/// Decides incidents from what the hub knows of each site, and drives the outbox. All state is in the store, so a
/// hub killed and started again goes on where it was: pending problems keep their start, open incidents stay open,
/// undelivered notifications are sent.
public final class WGAlertEvaluator: Sendable {
    let hub: WGHubService
    public let deliverer: WGAlertDeliverer
    var settings: WGAlertSettings { hub.config.alerts }

    public init(hub: WGHubService) {
        self.hub = hub
        self.deliverer = WGAlertDeliverer(store: hub.store, settings: hub.config.alerts, metrics: hub.metrics, logger: hub.logger)
    }

    /// The problems of every site now: offline (or stale, with `onStale`), a port forward that worked now closed,
    /// failing checks, a second machine on one credential.
    public func problems(now: Date = Date()) async throws -> [WGAlertProblem] {
        let sites = try await hub.store.allSites()
        let peers = await hub.peers()
        let th = hub.config.thresholds
        let forwards = try await hub.store.sitesWithAForward()
        var out: [WGAlertProblem] = []
        for s in sites {
            func add(_ kind: String, _ detail: String, _ since: Date) {
                out.append(WGAlertProblem(siteID: s.id, hostname: s.hostname, address: s.address, kind: kind, detail: detail, since: since))
            }
            let hs = peers[s.publicKey].map(\.latestHandshake).flatMap { $0 > 0 ? Date(timeIntervalSince1970: Double($0)) : nil }
            let status = th.status(latestHandshake: hs.map { Int64($0.timeIntervalSince1970) }, lastReport: s.lastReportAt, now: now)
            if status == .offline || (status == .stale && settings.onStale) {
                let seen = [hs, s.lastReportAt].compactMap { $0 }
                let since: Date
                if status == .offline {
                    since = seen.max().map { $0.addingTimeInterval(th.offlineAfter) } ?? s.enrolledAt
                } else {
                    since = max(s.enrolledAt, (seen.count == 2 ? seen.min()! : s.enrolledAt).addingTimeInterval(th.staleAfter))
                }
                func age(_ d: Date?) -> String { d.map { "\(WGDurations.describe(max(0, now.timeIntervalSince($0)))) ago" } ?? "never" }
                add("offline", "\(status.rawValue): last report \(age(s.lastReportAt)), last handshake \(age(hs))", since)
            }
            if s.probeVerdict == "closed" && forwards.contains(s.id) {
                add("port_forward", s.probeDetail ?? "the hub's probe did not reach the site", s.probeAt ?? now)
            }
            if let report = s.lastReport {
                for c in report.checks.prefix(32) where !c.ok && c.name != "port_forward" {
                    add("check:\(String(c.name.prefix(64)))", String((c.detail ?? c.name).prefix(300)), s.lastReportAt ?? now)
                }
            }
            // A conflict is live while the second machine keeps reporting (within the offline threshold).
            if let at = s.machineConflictAt, now.timeIntervalSince(at) < th.offlineAfter {
                add("machine_conflict", "a second machine (\(s.machineConflict?.prefix(12) ?? "?")…) reported with this site's credential: "
                    + "a cloned disk or a stolen credential", at)
            }
        }
        return out
    }

    /// One evaluation: incidents brought in line with the problems, notifications queued. Returns (opened, resolved).
    @discardableResult
    public func evaluate(now: Date = Date()) async throws -> (opened: Int, resolved: Int) {
        let result = try await hub.store.applyProblems(try await problems(now: now), settings: settings, hub: hub.config.effectivePublicURL, now: now)
        if result.opened + result.resolved > 0 {
            hub.logger.notice("incidents changed", metadata: ["opened": "\(result.opened)", "resolved": "\(result.resolved)"])
        }
        return result
    }

    /// Evaluate, and deliver, every `interval` until cancelled: two loops, so a slow receiver (connect and
    /// deadline timeouts) never holds up the evaluation.
    public func run() async {
        guard settings.enabled else { return }  // --no-alerts
        let pause = Duration.milliseconds(Int(settings.interval * 1000))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do { try await self.evaluate() } catch { self.hub.logger.error("alert evaluation failed: \(error)") }
                    try? await Task.sleep(for: pause)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    await self.deliverer.deliverDue()
                    try? await Task.sleep(for: pause)
                }
            }
        }
    }
}

/// The evaluator as a service of the hub's ServiceGroup.
struct WGAlertService: Service {
    let evaluator: WGAlertEvaluator
    func run() async throws {
        try await cancelWhenGracefulShutdown { await evaluator.run() }
    }
}
