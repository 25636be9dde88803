import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// The periodic prune. The write path prunes a site's history only when that site reports, so a silent site kept
/// its rows forever. This walks every site that has history, a few per write transaction (the writer is shared with
/// health ingestion), drops rows older than the retention and all rows of a site that is gone; then the incidents of
/// deleted sites that nothing waits for (WGHubStore.pruneOrphanIncidents).
enum WGHistoryPrune {
    /// Sites per write transaction: a site silent for months has up to ~5,000 rows to drop.
    static let sitesPerStep = 16
    static let interval: Duration = .seconds(3600)
    /// The first pass, once the hub is up and has answered its first reports.
    static let firstAfter: Duration = .seconds(60)
}

extension WGHubStore {
    /// One bounded step: the (at most `limit`) sites with history rows after site id `after`, in id order, each found
    /// by seeking the primary key (no table scan). Returns where to go on (nil: done) and the rows deleted.
    func pruneHistoryStep(after: Int64, limit: Int, now: Int64) async throws -> (next: Int64?, deleted: Int) {
        try await dbPool.writeOffPool { db in
            let seek = try db.cachedStatement(sql: "SELECT site_id FROM site_history WHERE site_id > ? ORDER BY site_id LIMIT 1")
            let exists = try db.cachedStatement(sql: "SELECT 1 FROM sites WHERE id = ?")
            var cursor = after, deleted = 0
            for _ in 0..<max(1, limit) {
                guard let id = try Int64.fetchOne(seek, arguments: [cursor]) else { return (nil, deleted) }
                cursor = id
                if try Bool.fetchOne(exists, arguments: [id]) == true {
                    deleted += try WGSiteHistory.prune(db, siteID: id, now: now)
                } else {
                    // A deletion cascades (foreign keys); rows written with them off (a hand-edited store) do not.
                    try db.execute(sql: "DELETE FROM site_history WHERE site_id = ?", arguments: [id])
                    deleted += db.changesCount
                }
            }
            return (cursor, deleted)
        }
    }

    /// Every site's history pruned to the retention, `sitesPerStep` sites per transaction, then the orphan incidents.
    /// Returns the rows deleted. Stops between steps when its task is cancelled.
    @discardableResult
    func pruneHistory(now: Date = Date(), sitesPerStep: Int = WGHistoryPrune.sitesPerStep) async throws -> (history: Int, incidents: Int) {
        let t = Int64(now.timeIntervalSince1970)
        var cursor: Int64? = .min, history = 0
        while let after = cursor, !Task.isCancelled {
            let step = try await pruneHistoryStep(after: after, limit: sitesPerStep, now: t)
            history += step.deleted
            cursor = step.next
        }
        return (history, try await pruneOrphanIncidents())
    }
}

/// The prune as a service of the hub's ServiceGroup: a pass a minute after start, then every hour.
struct WGHistoryPruneService: Service {
    let store: WGHubStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            try? await Task.sleep(for: WGHistoryPrune.firstAfter)
            while !Task.isCancelled {
                do {
                    let started = ContinuousClock.now
                    let n = try await store.pruneHistory()
                    if n.history + n.incidents > 0 {
                        logger.info("history pruned", metadata: [
                            "rows": "\(n.history)", "orphan_incidents": "\(n.incidents)", "took": "\(ContinuousClock.now - started)",
                        ])
                    }
                } catch {
                    logger.error("history prune failed (retried in an hour): \(error)")
                }
                try? await Task.sleep(for: WGHistoryPrune.interval)
            }
        }
    }
}
