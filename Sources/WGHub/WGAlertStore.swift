import Foundation
import GRDB
import WGModel

/// A problem the evaluator sees on a site now (from its view), with the time it began.
public struct WGAlertProblem: Sendable, Equatable {
    public var siteID: Int64
    public var hostname: String
    public var address: String?
    public var kind: String
    public var detail: String
    public var since: Date
}

/// A due outbox row, claimed for one delivery attempt, with what is needed to send it.
struct WGClaimedDelivery: Sendable {
    var deliveryID: String
    var attempts: Int
    var payload: String
    var receiver: WGAlertReceiver
    var secret: String?
}

/// Incidents, receivers and the outbox (migration v5). Every state change of an incident and the outbox rows it
/// makes are one transaction: a hub killed at any point neither loses a notification nor makes a second one.
extension WGHubStore {
    static let maxReceivers = 32

    static func migrateAlerts(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE alert_receivers (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('webhook', 'smtp')),
                config TEXT NOT NULL,
                secret TEXT,
                created_at REAL NOT NULL
            );
            CREATE TABLE incidents (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                site_id INTEGER NOT NULL,
                hostname TEXT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL,
                started_at REAL NOT NULL,
                opened_at REAL,
                cleared_at REAL,
                resolved_at REAL,
                flaps INTEGER NOT NULL DEFAULT 0
            );
            CREATE UNIQUE INDEX incidents_live ON incidents(site_id, kind) WHERE resolved_at IS NULL;
            CREATE TABLE alert_outbox (
                delivery_id TEXT PRIMARY KEY,
                receiver_id TEXT NOT NULL,
                incident_id INTEGER,
                event TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at REAL NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL NOT NULL,
                last_error TEXT,
                delivered_at REAL,
                failed_at REAL
            );
            CREATE INDEX alert_outbox_due ON alert_outbox(next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
            """)
    }

    // MARK: receivers

    /// Stores a receiver (validated) with its secret; returns it with its new id. A webhook on a private target
    /// (loopback, link-local, this hub's addresses: its interfaces', those `serve` recorded, and `own`) is refused
    /// unless `allowPrivate` (`--allow-private-receivers`).
    public func addReceiver(
        _ receiver: WGAlertReceiver, secret: String?, allowPrivate: Bool = false, own: [WGIPAddress] = [], now: Date = Date()
    ) async throws -> WGAlertReceiver {
        try await dbPool.writeOffPool { db in
            func meta(_ key: String) throws -> String? { try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
            let hub = WGReceiverTarget.localAddresses()
                + WGReceiverTarget.configuredAddresses(pool: try meta("pool"), endpoint: try meta("endpoint"), publicURL: try meta("public_url"))
            var r = try receiver.validated(allowPrivate: allowPrivate, own: hub + own)
            r.id = WGHubSecrets.newID(prefix: "rcv_")
            r.createdAt = now
            r.hasSecret = (secret?.isEmpty == false) ? true : nil
            let config = String(decoding: try WGAlertEvent.encoder.encode(r), as: UTF8.self)
            let stored = r
            // Each incident event makes a row per receiver: their number is bounded.
            guard (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alert_receivers") ?? 0) < Self.maxReceivers else {
                throw WGHubError(409, "too_many_receivers", "at most \(Self.maxReceivers) alert receivers: remove one first (`wghub alert remove ID`)")
            }
            try db.execute(sql: "INSERT INTO alert_receivers (id, kind, config, secret, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [stored.id, stored.kind.rawValue, config, secret?.isEmpty == false ? secret : nil, now.timeIntervalSince1970])
            return stored
        }
    }

    public func receivers() async throws -> [WGAlertReceiver] {
        try await dbPool.readOffPool { db in try Self.receiverRows(db).map(\.0) }
    }

    static func receiverRows(_ db: Database) throws -> [(WGAlertReceiver, String?)] {
        try Row.fetchAll(db, sql: "SELECT config, secret FROM alert_receivers ORDER BY created_at, id").compactMap { row in
            let config: String = row["config"]
            guard let r = try? WGAlertEvent.decoder.decode(WGAlertReceiver.self, from: Data(config.utf8)) else { return nil }
            return (r, row["secret"])
        }
    }

    /// Removes a receiver and what is still queued for it; false when unknown.
    public func removeReceiver(id: String) async throws -> Bool {
        try await dbPool.writeOffPool { db in
            try db.execute(sql: "DELETE FROM alert_receivers WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "DELETE FROM alert_outbox WHERE receiver_id = ? AND delivered_at IS NULL", arguments: [id])
            return true
        }
    }

    /// Queues a test notification for one receiver; returns its delivery id (nil: no such receiver).
    public func enqueueTest(receiverID: String, hub: String?, now: Date = Date()) async throws -> String? {
        try await dbPool.writeOffPool { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM alert_receivers WHERE id = ?", arguments: [receiverID]) == true else { return nil }
            let event = WGAlertEvent(
                deliveryID: "", event: "test", incidentID: nil, kind: "test", detail: "a test notification from wghub",
                site: nil, startedAt: nil, resolvedAt: nil, flaps: 0, text: "wghub test notification: this receiver works", hub: hub,
                createdAt: now)
            return try Self.enqueue(db, event, receiverIDs: [receiverID], incidentID: nil, now: now).first
        }
    }

    /// One row per receiver, each with its own delivery id inside the body.
    @discardableResult
    static func enqueue(_ db: Database, _ event: WGAlertEvent, receiverIDs: [String], incidentID: Int64?, now: Date) throws -> [String] {
        var ids: [String] = []
        for r in receiverIDs {
            var e = event
            e.deliveryID = "dlv_" + WGHubSecrets.hex(WGHubSecrets.randomBytes(12))
            let payload = String(decoding: try WGAlertEvent.encoder.encode(e), as: UTF8.self)
            try db.execute(
                sql: """
                    INSERT INTO alert_outbox (delivery_id, receiver_id, incident_id, event, payload, created_at, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [e.deliveryID, r, incidentID, e.event, payload, now.timeIntervalSince1970, now.timeIntervalSince1970])
            ids.append(e.deliveryID)
        }
        return ids
    }

    // MARK: incidents

    /// Brings the incidents in line with the problems seen now (one transaction) and queues a notification for
    /// each receiver when one opens (its problem lasted `grace`) or resolves (clear for `holdDown`).
    /// `sites`: the sites that exist (an incident of a deleted site resolves). Returns (opened, resolved).
    @discardableResult
    public func applyProblems(
        _ problems: [WGAlertProblem], settings: WGAlertSettings, hub: String?, now: Date = Date()
    ) async throws -> (opened: Int, resolved: Int) {
        try await dbPool.writeOffPool { db in
            let receivers = try Self.receiverRows(db).map(\.0.id)
            let live = try Row.fetchAll(db, sql: "SELECT * FROM incidents WHERE resolved_at IS NULL").map(Self.incident)
            var byKey: [String: WGIncident] = [:]
            for i in live { byKey["\(i.siteID)|\(i.kind)"] = i }
            let t = now.timeIntervalSince1970
            var opened = 0, resolved = 0
            var seen = Set<String>()
            for p in problems {
                let key = "\(p.siteID)|\(p.kind)"
                guard seen.insert(key).inserted else { continue }
                var incident: WGIncident
                if let i = byKey[key] {
                    incident = i
                    if i.clearedAt != nil {  // back within the hold-down: a flap, not a new page
                        try db.execute(sql: "UPDATE incidents SET cleared_at = NULL, flaps = flaps + 1, detail = ? WHERE id = ?",
                                       arguments: [p.detail, i.id])
                        continue
                    }
                    if i.openedAt != nil { continue }
                } else {
                    let since = min(p.since, now)
                    try db.execute(
                        sql: "INSERT INTO incidents (site_id, hostname, kind, detail, started_at) VALUES (?, ?, ?, ?, ?)",
                        arguments: [p.siteID, p.hostname, p.kind, p.detail, since.timeIntervalSince1970])
                    incident = WGIncident(id: db.lastInsertedRowID, siteID: p.siteID, hostname: p.hostname, kind: p.kind,
                                          detail: p.detail, startedAt: since, flaps: 0)
                }
                // Pending: opens once the problem has lasted the grace period.
                guard now.timeIntervalSince(incident.startedAt) >= settings.grace else { continue }
                try db.execute(sql: "UPDATE incidents SET opened_at = ?, detail = ? WHERE id = ?", arguments: [t, p.detail, incident.id])
                let text = WGAlertEvent.describe(event: "opened", kind: p.kind, detail: p.detail, hostname: p.hostname,
                                                 flaps: 0, startedAt: incident.startedAt, now: now)
                let event = WGAlertEvent(
                    deliveryID: "", event: "opened", incidentID: incident.id, kind: p.kind, detail: p.detail,
                    site: .init(id: p.siteID, hostname: p.hostname, address: p.address), startedAt: incident.startedAt,
                    resolvedAt: nil, flaps: 0, text: text, hub: hub, createdAt: now)
                try Self.enqueue(db, event, receiverIDs: receivers, incidentID: incident.id, now: now)
                opened += 1
            }
            for i in live where !seen.contains("\(i.siteID)|\(i.kind)") {
                if i.openedAt == nil {  // a blip shorter than the grace period: nothing was sent, nothing is kept
                    try db.execute(sql: "DELETE FROM incidents WHERE id = ?", arguments: [i.id])
                    continue
                }
                let clearedAt = i.clearedAt ?? now
                if i.clearedAt == nil { try db.execute(sql: "UPDATE incidents SET cleared_at = ? WHERE id = ?", arguments: [t, i.id]) }
                guard now.timeIntervalSince(clearedAt) >= settings.holdDown else { continue }
                try db.execute(sql: "UPDATE incidents SET resolved_at = ? WHERE id = ?", arguments: [t, i.id])
                let text = WGAlertEvent.describe(event: "resolved", kind: i.kind, detail: i.detail, hostname: i.hostname,
                                                 flaps: i.flaps, startedAt: i.startedAt, now: now)
                let event = WGAlertEvent(
                    deliveryID: "", event: "resolved", incidentID: i.id, kind: i.kind, detail: i.detail,
                    site: .init(id: i.siteID, hostname: i.hostname, address: nil), startedAt: i.startedAt,
                    resolvedAt: now, flaps: i.flaps, text: text, hub: hub, createdAt: now)
                try Self.enqueue(db, event, receiverIDs: receivers, incidentID: i.id, now: now)
                resolved += 1
            }
            // Bounded: delivered or given-up rows go after a week, resolved incidents after 90 days.
            try db.execute(sql: "DELETE FROM alert_outbox WHERE delivered_at < ? OR failed_at < ?", arguments: [t - 7 * 86400, t - 7 * 86400])
            try db.execute(sql: "DELETE FROM incidents WHERE resolved_at < ?", arguments: [t - 90 * 86400])
            return (opened, resolved)
        }
    }

    /// With the site's deletion (incidents have no foreign key): its resolved incidents and pending ones (nothing was
    /// sent). Open ones stay: the evaluator resolves them (the site's problems are gone) and their receivers get the
    /// resolved message; the periodic prune then drops them (pruneOrphanIncidents).
    static func dropIncidents(_ db: Database, siteID: Int64) throws {
        try db.execute(sql: "DELETE FROM incidents WHERE site_id = ? AND (resolved_at IS NOT NULL OR opened_at IS NULL)",
                       arguments: [siteID])
    }

    /// Resolved or pending incidents of sites that no longer exist, at most `limit` in one transaction; returns how many.
    func pruneOrphanIncidents(limit: Int = 1000) async throws -> Int {
        try await dbPool.writeOffPool { db in
            try db.execute(
                sql: """
                    DELETE FROM incidents WHERE id IN (
                        SELECT id FROM incidents WHERE (resolved_at IS NOT NULL OR opened_at IS NULL)
                        AND site_id NOT IN (SELECT id FROM sites) LIMIT ?)
                    """, arguments: [limit])
            return db.changesCount
        }
    }

    /// Incidents, newest first (`all`: resolved ones too, at most `limit`).
    public func incidents(all: Bool = false, limit: Int = 200) async throws -> [WGIncident] {
        try await dbPool.readOffPool { db in
            try Row.fetchAll(db, sql: "SELECT * FROM incidents \(all ? "" : "WHERE resolved_at IS NULL") ORDER BY id DESC LIMIT ?",
                             arguments: [limit]).map(Self.incident)
        }
    }

    static func incident(_ row: Row) -> WGIncident {
        func date(_ c: String) -> Date? { (row[c] as Double?).map(Date.init(timeIntervalSince1970:)) }
        return WGIncident(
            id: row["id"], siteID: row["site_id"], hostname: row["hostname"], kind: row["kind"], detail: row["detail"],
            startedAt: date("started_at")!, openedAt: date("opened_at"), clearedAt: date("cleared_at"),
            resolvedAt: date("resolved_at"), flaps: row["flaps"])
    }

    // MARK: outbox

    /// Claims up to `limit` due rows (one `id` only when given) for one attempt each: their next attempt moves
    /// `lease` seconds on first, so a second deliverer (another process, `wghub alert test`) does not send them too;
    /// a hub killed mid-send retries after the lease. Rows whose receiver is gone are dropped.
    func claimDue(now: Date, lease: TimeInterval, limit: Int, id: String? = nil) async throws -> [WGClaimedDelivery] {
        try await dbPool.writeOffPool { db in
            let receivers = Dictionary(try Self.receiverRows(db).map { ($0.0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT delivery_id, receiver_id, attempts, payload FROM alert_outbox
                    WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? \(id == nil ? "" : "AND delivery_id = ?")
                    ORDER BY next_attempt_at LIMIT ?
                    """,
                arguments: id.map { [now.timeIntervalSince1970, $0, limit] } ?? [now.timeIntervalSince1970, limit])
            var out: [WGClaimedDelivery] = []
            for row in rows {
                let deliveryID: String = row["delivery_id"]
                guard let (receiver, secret) = receivers[row["receiver_id"] as String] else {
                    try db.execute(sql: "DELETE FROM alert_outbox WHERE delivery_id = ?", arguments: [deliveryID])
                    continue
                }
                try db.execute(sql: "UPDATE alert_outbox SET next_attempt_at = ? WHERE delivery_id = ?",
                               arguments: [now.timeIntervalSince1970 + lease, deliveryID])
                out.append(WGClaimedDelivery(deliveryID: deliveryID, attempts: row["attempts"], payload: row["payload"],
                                             receiver: receiver, secret: secret))
            }
            return out
        }
    }

    /// The receiver acknowledged: never sent again.
    func markDelivered(_ id: String, now: Date = Date()) async throws {
        try await dbPool.writeOffPool { db in
            try db.execute(sql: "UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE delivery_id = ?",
                           arguments: [now.timeIntervalSince1970, id])
        }
    }

    /// An attempt failed: retried after `retryIn`, or given up (`giveUp`).
    func markFailed(_ id: String, error: String, retryIn: TimeInterval, giveUp: Bool, now: Date = Date()) async throws {
        try await dbPool.writeOffPool { db in
            try db.execute(
                sql: """
                    UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, failed_at = ?
                    WHERE delivery_id = ?
                    """,
                arguments: [String(error.prefix(500)), now.timeIntervalSince1970 + retryIn, giveUp ? now.timeIntervalSince1970 : nil, id])
        }
    }

    public func deliveries(limit: Int = 100) async throws -> [WGAlertDelivery] {
        try await dbPool.readOffPool { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alert_outbox ORDER BY created_at DESC LIMIT ?", arguments: [limit]).map(Self.delivery)
        }
    }

    static func delivery(_ row: Row) -> WGAlertDelivery {
        func date(_ c: String) -> Date? { (row[c] as Double?).map(Date.init(timeIntervalSince1970:)) }
        return WGAlertDelivery(
            deliveryID: row["delivery_id"], receiverID: row["receiver_id"], event: row["event"], attempts: row["attempts"],
            nextAttemptAt: date("next_attempt_at"), lastError: row["last_error"], deliveredAt: date("delivered_at"),
            failedAt: date("failed_at"))
    }

    public func delivery(id: String) async throws -> WGAlertDelivery? {
        try await dbPool.readOffPool { db in
            try Row.fetchOne(db, sql: "SELECT * FROM alert_outbox WHERE delivery_id = ?", arguments: [id]).map(Self.delivery)
        }
    }

    /// Sites whose port forward has been seen open (in the probes kept), or whose port_forward incident is live:
    /// a closed verdict is a problem only for a forward that worked (a site that never had one is not paged).
    func sitesWithAForward() async throws -> Set<Int64> {
        try await dbPool.readOffPool { db in
            Set(try Int64.fetchAll(db, sql: """
                SELECT site_id FROM probes WHERE verdict = 'open'
                UNION SELECT site_id FROM incidents WHERE kind = 'port_forward' AND resolved_at IS NULL
                """))
        }
    }

    /// For /metrics: rows not yet delivered nor given up, and incidents open (notified, not resolved).
    public func alertGauges() async throws -> (pending: Int, open: Int) {
        try await dbPool.readOffPool { db in
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL AND failed_at IS NULL") ?? 0
            let open = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM incidents WHERE opened_at IS NOT NULL AND resolved_at IS NULL") ?? 0
            return (pending, open)
        }
    }
}
