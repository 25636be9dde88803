import Foundation
import GRDB
import WGModel

/// Group commit for health reports: reports that arrive while a write is under way wait for the next one and
/// then go in together, one transaction for all of them. Each caller still gets its own answer (stored or
/// duplicate) and returns only after its report is committed, so an acknowledged report survives `kill -9`.
/// Under load this turns N transactions (and N hops onto GRDB's writer) into one.
final class WGHealthBatcher: @unchecked Sendable {
    struct Pending {
        var siteID: Int64
        var report: WGHealthReport
        var body: String
        var observedAddress: String?
        var retention: Int
        var time: Double
        var thresholds: WGStatusThresholds = .init()
        /// False with --no-history: no site_history rows.
        var history = true
        var done: CheckedContinuation<Bool, Error>
    }

    private let dbPool: DatabasePool
    private let lock = NSLock()
    private var queue: [Pending] = []
    private var draining = false
    /// Bounded transactions: a burst is split so one transaction never holds the writer for long.
    var maxBatch: Int {
        get { lock.withLock { limit } }
        set { lock.withLock { limit = max(1, newValue) } }
    }
    private var limit = 256
    /// Each site's last report (hub time, status from its handshake age): the time until the next one is credited to
    /// the history as online / stale from it, without a read. One entry per site (bounded by the sites); empty after a
    /// restart (the first interval then is not credited).
    private var last: [Int64: (time: Double, status: WGSiteStatus)] = [:]

    init(dbPool: DatabasePool) { self.dbPool = dbPool }

    func record(siteID: Int64, report: WGHealthReport, body: String, observedAddress: String?, retention: Int, time: Double,
                thresholds: WGStatusThresholds = .init(), history: Bool = true) async throws -> Bool {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Bool, Error>) in
            let start: Bool = lock.withLock {
                queue.append(Pending(siteID: siteID, report: report, body: body, observedAddress: observedAddress,
                                     retention: retention, time: time, thresholds: thresholds, history: history, done: done))
                if draining { return false }
                draining = true
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch: [Pending] = lock.withLock {
                let n = min(queue.count, limit)
                let b = Array(queue.prefix(n))
                queue.removeFirst(n)
                if b.isEmpty { draining = false }
                return b
            }
            if batch.isEmpty { return }
            do {
                let results = try await dbPool.writeOffPool { db in try batch.map { try self.write($0, db) } }
                for (p, stored) in zip(batch, results) { p.done.resume(returning: stored) }
            } catch {
                // One bad report must not fail the others: fall back to one transaction each.
                for p in batch {
                    do { p.done.resume(returning: try await dbPool.writeOffPool { db in try self.write(p, db) }) } catch { p.done.resume(throwing: error) }
                }
            }
        }
    }

    /// For a stored report: the time since the site's previous one, as the dashboard would have shown it: after an
    /// online report online for `staleAfter`, then stale until `offlineAfter` (WGStatusThresholds), then offline. A
    /// report received earlier than the last one credits nothing. Called in the write transaction (the writer runs
    /// one at a time); the lock is held for a dictionary access only.
    private func credit(_ sample: inout WGSiteHistory.Sample, _ p: Pending) {
        lock.withLock {
            if let prev = last[p.siteID] {
                guard p.time >= prev.time else { return }
                let dt = p.time - prev.time
                let online = prev.status == .online ? min(dt, p.thresholds.staleAfter) : 0
                sample.onlineSeconds = online
                sample.staleSeconds = prev.status == .offline ? 0 : max(0, min(dt, p.thresholds.offlineAfter) - online)
            }
            last[p.siteID] = (p.time, sample.status)
        }
    }

    /// One report: stored once per (site, seq); the site's latest report updated; retention applied; history bucketed.
    /// Cached statements: compiling these three (SQLite's parser plus GRDB's authorizer) was a quarter of the
    /// hub's CPU per report before.
    func write(_ p: Pending, _ db: Database) throws -> Bool {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO reports (site_id, seq, received_at, agent_time, body) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [p.siteID, p.report.seq, p.time, p.report.agentTime, p.body])
        guard db.changesCount > 0 else { return false }
        try db.cachedStatement(
            sql: """
                UPDATE sites SET last_report_at = :t, observed_address = COALESCE(:obs, observed_address),
                last_report = CASE WHEN last_seq IS NULL OR last_seq <= :seq THEN :body ELSE last_report END,
                last_seq = CASE WHEN last_seq IS NULL OR last_seq < :seq THEN :seq ELSE last_seq END,
                machine_conflict = CASE WHEN :machine IS NOT NULL AND machine IS NOT NULL AND machine != :machine
                                        THEN :machine ELSE machine_conflict END,
                machine_conflict_at = CASE WHEN :machine IS NOT NULL AND machine IS NOT NULL AND machine != :machine
                                           THEN :t ELSE machine_conflict_at END,
                machine = COALESCE(machine, :machine)
                WHERE id = :id
                """
        ).execute(arguments: ["seq": p.report.seq, "body": p.body, "id": p.siteID, "t": p.time, "obs": p.observedAddress,
                              "machine": p.report.machine])
        // Bounded retention: drop everything older than the newest `retention` reports. The oldest seq to keep is
        // looked up first: with the subquery inside the DELETE, SQLite collected the keys in a temporary table
        // first (the statement reads the table it deletes from); this was the costliest of the three statements.
        let keep = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT seq FROM reports WHERE site_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?"),
            arguments: [p.siteID, max(p.retention, 1) - 1])
        if let keep {
            try db.cachedStatement(sql: "DELETE FROM reports WHERE site_id = ? AND seq < ?").execute(arguments: [p.siteID, keep])
        }
        // History: the report's minute and hour buckets (WGSiteHistory), in this transaction.
        guard p.history else { return true }
        var sample = WGSiteHistory.Sample(p.report, thresholds: p.thresholds)
        credit(&sample, p)
        try WGSiteHistory.record(db, siteID: p.siteID, sample: sample, time: p.time)
        return true
    }
}
