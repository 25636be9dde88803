import Foundation
import GRDB
import WGModel

/// Per-site history, bounded and downsampled: one row per (site, resolution, bucket) in `site_history`, minute
/// buckets kept two days and hour buckets kept 90 days. Written from health ingestion, in the batch's transaction:
/// two UPSERTs per stored report (minute and hour), no read; pruned once per new minute bucket of a site, and for
/// every site (silent ones too) by the periodic prune (WGHistoryPrune).
///
/// Each row: the reports received in it; their status samples (online / stale / offline, from the handshake age the
/// report carries); the minutes with a report and with an online sample; the seconds online and stale (availability:
/// after an online report the site counts as online for `staleAfter`, then stale until `offlineAfter`, then offline,
/// as the dashboard would have shown it; credited when the next report arrives); the handshake ages (sum, max, count: mean = sum / count); the rx/tx counters at the
/// bucket's last report (rates are derived between buckets); the last port-forward verdict recorded in it.
enum WGSiteHistory {
    static let minute: Int64 = 60
    static let hour: Int64 = 3600
    /// Retention, seconds.
    static let keepMinutes: Int64 = 2 * 86400
    static let keepHours: Int64 = 90 * 86400

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE site_history (
                site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                res INTEGER NOT NULL CHECK (res IN (60, 3600)),
                bucket INTEGER NOT NULL,
                reports INTEGER NOT NULL DEFAULT 0,
                minutes INTEGER NOT NULL DEFAULT 0,
                online_minutes INTEGER NOT NULL DEFAULT 0,
                online_s REAL NOT NULL DEFAULT 0,
                stale_s REAL NOT NULL DEFAULT 0,
                online INTEGER NOT NULL DEFAULT 0,
                stale INTEGER NOT NULL DEFAULT 0,
                offline INTEGER NOT NULL DEFAULT 0,
                hs_age_sum REAL NOT NULL DEFAULT 0,
                hs_age_max REAL,
                hs_samples INTEGER NOT NULL DEFAULT 0,
                rx INTEGER, tx INTEGER,
                probe TEXT,
                PRIMARY KEY (site_id, res, bucket)
            ) WITHOUT ROWID;
            """)
    }

    /// One report's sample: status from the handshake age it carries (the agent's clock on both sides), counters
    /// summed over its peers (an agent has one: the hub).
    struct Sample: Sendable {
        var status: WGSiteStatus
        var handshakeAge: Double?
        var rx: Int64
        var tx: Int64
        /// Seconds since the site's previous report credited to online and stale (WGHealthBatcher.credit).
        var onlineSeconds = 0.0
        var staleSeconds = 0.0

        init(_ r: WGHealthReport, thresholds: WGStatusThresholds) {
            let hs = r.peers.map(\.latestHandshake).max() ?? 0
            handshakeAge = hs > 0 ? Double(max(0, r.agentTime - hs)) : nil
            let age = handshakeAge ?? .infinity
            status = age <= thresholds.staleAfter ? .online : age > thresholds.offlineAfter ? .offline : .stale
            rx = r.peers.reduce(0) { $0 &+ max(0, $1.receiveBytes) }
            tx = r.peers.reduce(0) { $0 &+ max(0, $1.transmitBytes) }
        }
    }

    private static let upsert = """
        INSERT INTO site_history (site_id, res, bucket, reports, minutes, online_minutes, online, stale, offline,
                                  online_s, stale_s, hs_age_sum, hs_age_max, hs_samples, rx, tx)
        VALUES (:id, :res, :bucket, 1, :minutes, :onlineMinutes, :on, :st, :off, :onS, :stS, :age, :ageMax, :hsn, :rx, :tx)
        ON CONFLICT (site_id, res, bucket) DO UPDATE SET
            reports = reports + 1,
            minutes = CASE WHEN res = 60 THEN MAX(minutes, excluded.minutes) ELSE minutes + excluded.minutes END,
            online_minutes = CASE WHEN res = 60 THEN MAX(online_minutes, excluded.online_minutes)
                                  ELSE online_minutes + excluded.online_minutes END,
            online_s = online_s + excluded.online_s, stale_s = stale_s + excluded.stale_s,
            online = online + excluded.online, stale = stale + excluded.stale, offline = offline + excluded.offline,
            hs_age_sum = hs_age_sum + excluded.hs_age_sum,
            hs_age_max = CASE WHEN excluded.hs_age_max IS NULL THEN hs_age_max
                              WHEN hs_age_max IS NULL OR excluded.hs_age_max > hs_age_max THEN excluded.hs_age_max
                              ELSE hs_age_max END,
            hs_samples = hs_samples + excluded.hs_samples, rx = excluded.rx, tx = excluded.tx
        RETURNING reports, online
        """

    /// In the health batch's transaction, for a report just stored. Minute row first: whether it is the minute's
    /// first report (or first online sample) comes back from its UPSERT and feeds the hour row's minute counts.
    static func record(_ db: Database, siteID: Int64, sample s: Sample, time: Double) throws {
        let t = Int64(time.rounded(.down))
        func args(_ res: Int64, minutes: Int, onlineMinutes: Int) -> StatementArguments {
            ["id": siteID, "res": res, "bucket": t - t % res, "minutes": minutes, "onlineMinutes": onlineMinutes,
             "on": s.status == .online ? 1 : 0, "st": s.status == .stale ? 1 : 0, "off": s.status == .offline ? 1 : 0,
             "onS": s.onlineSeconds, "stS": s.staleSeconds,
             "age": s.handshakeAge ?? 0, "ageMax": s.handshakeAge, "hsn": s.handshakeAge == nil ? 0 : 1, "rx": s.rx, "tx": s.tx]
        }
        let stmt = try db.cachedStatement(sql: upsert)
        let row = try Row.fetchOne(stmt, arguments: args(minute, minutes: 1, onlineMinutes: s.status == .online ? 1 : 0))
        let reports = (row?["reports"] as Int?) ?? 1, online = (row?["online"] as Int?) ?? 0
        let newMinute = reports == 1
        let newOnlineMinute = s.status == .online && online == 1
        _ = try Row.fetchOne(stmt, arguments: args(hour, minutes: newMinute ? 1 : 0, onlineMinutes: newOnlineMinute ? 1 : 0))
        if newMinute { _ = try prune(db, siteID: siteID, now: t) }
    }

    /// Drops the site's rows older than the retention (two primary-key range deletes); returns the rows deleted.
    static func prune(_ db: Database, siteID: Int64, now t: Int64) throws -> Int {
        let stmt = try db.cachedStatement(sql: "DELETE FROM site_history WHERE site_id = ? AND res = ? AND bucket < ?")
        try stmt.execute(arguments: [siteID, minute, t - keepMinutes])
        var deleted = db.changesCount
        try stmt.execute(arguments: [siteID, hour, t - keepHours])
        deleted += db.changesCount
        return deleted
    }

    /// The port-forward verdict, in the current minute and hour rows (made if absent).
    static func recordProbe(_ db: Database, siteID: Int64, verdict: String, time: Double) throws {
        let t = Int64(time.rounded(.down))
        for res in [minute, hour] {
            try db.execute(
                sql: """
                    INSERT INTO site_history (site_id, res, bucket, probe) VALUES (?, ?, ?, ?)
                    ON CONFLICT (site_id, res, bucket) DO UPDATE SET probe = excluded.probe
                    """, arguments: [siteID, res, t - t % res, verdict])
        }
    }
}

/// One point of a chart: the buckets of one step (e.g. 10 minutes of minute rows), summed.
public struct WGHistoryPoint: Sendable, Equatable {
    public var time: Int64
    public var reports: Int
    public var minutes: Int
    public var onlineMinutes: Int
    /// Seconds online and stale (the hub's thresholds applied to the time between reports); the rest is offline.
    public var onlineSeconds: Double = 0
    public var staleSeconds: Double = 0
    public var online: Int
    public var stale: Int
    public var offline: Int
    public var handshakeAgeMean: Double?
    public var handshakeAgeMax: Double?
    public var rx: Int64?
    public var tx: Int64?
    public var probe: String?
}

/// A time range of a site's history: `step`-second points from `from` to `to`.
public struct WGHistoryRange: Sendable {
    public var label: String
    public var from: Int64
    public var to: Int64
    public var step: Int64
    public var points: [WGHistoryPoint]

    /// The last 24 h from minute rows in 10-minute points; 7 d from hour rows; 30 d in 6-hour points.
    public static func standard(now: Date) -> [(label: String, res: Int64, span: Int64, step: Int64)] {
        [("24 h", WGSiteHistory.minute, 86400, 600), ("7 days", WGSiteHistory.hour, 7 * 86400, 3600),
         ("30 days", WGSiteHistory.hour, 30 * 86400, 6 * 3600)]
    }
}

extension WGHubStore {
    /// At most `span / step` points (the caller's ranges: ≤ 168).
    public func history(siteID: Int64, res: Int64, from: Int64, to: Int64, step: Int64) async throws -> [WGHistoryPoint] {
        try await dbPool.readOffPool { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT (bucket / :step) * :step AS g, SUM(reports) AS reports, SUM(minutes) AS minutes,
                           SUM(online_minutes) AS om, SUM(online_s) AS ons, SUM(stale_s) AS sts, SUM(online) AS online, SUM(stale) AS stale, SUM(offline) AS offline,
                           SUM(hs_age_sum) AS ages, SUM(hs_samples) AS hsn, MAX(hs_age_max) AS agemax,
                           MAX(rx) AS rx, MAX(tx) AS tx, MAX(probe) AS probe
                    FROM site_history WHERE site_id = :id AND res = :res AND bucket >= :from AND bucket < :to
                    GROUP BY g ORDER BY g
                    """,
                arguments: ["step": step, "id": siteID, "res": res, "from": from, "to": to]
            ).map { r in
                let n: Int = r["hsn"]
                return WGHistoryPoint(
                    time: r["g"], reports: r["reports"], minutes: r["minutes"], onlineMinutes: r["om"], onlineSeconds: r["ons"], staleSeconds: r["sts"], online: r["online"],
                    stale: r["stale"], offline: r["offline"], handshakeAgeMean: n > 0 ? (r["ages"] as Double) / Double(n) : nil,
                    handshakeAgeMax: r["agemax"], rx: r["rx"], tx: r["tx"], probe: r["probe"])
            }
        }
    }

    /// Rows kept for a site at a resolution (tests, and the page's footnote).
    public func historyRowCount(siteID: Int64, res: Int64) async throws -> Int {
        try await dbPool.readOffPool { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM site_history WHERE site_id = ? AND res = ?", arguments: [siteID, res]) ?? 0
        }
    }

    /// A site's incidents, newest first, at most `limit`.
    public func incidents(siteID: Int64, limit: Int = 20) async throws -> [WGIncident] {
        try await dbPool.readOffPool { db in
            try Row.fetchAll(db, sql: "SELECT * FROM incidents WHERE site_id = ? ORDER BY id DESC LIMIT ?",
                             arguments: [siteID, limit]).map(Self.incident)
        }
    }
}
