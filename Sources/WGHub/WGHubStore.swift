import Foundation
import GRDB
import WGModel

/// A site: one enrolled agent.
public struct WGSite: Sendable, Equatable {
    public var id: Int64
    public var publicKey: String
    /// Tunnel address without prefix, e.g. 192.0.2.2.
    public var address: String
    public var hostname: String
    public var listenPort: Int
    public var os: String?
    public var agentVersion: String?
    /// The LAN prefixes the site announced.
    public var lanSubnets: [String]
    /// The ones a token or an admin granted (routed only when also announced and safe: `WGLANPolicy`).
    public var lanGranted: [String] = []
    public var observedAddress: String?
    public var profile: String?
    public var enrolledAt: Date
    public var updatedAt: Date
    public var lastReportAt: Date?
    public var lastSeq: Int64?
    /// The newest report as stored (JSON); decoded only when someone looks (`lastReport`), not on every auth.
    public var lastReportJSON: String?
    public var probeVerdict: String?
    public var probeDetail: String?
    public var probeAt: Date?
    /// The machine it enrolled from (the agent's identity hash), and the last time another machine reported with
    /// its credential: one credential, two machines.
    public var machine: String?
    public var machineConflict: String?
    public var machineConflictAt: Date?
}

extension WGSite {
    public var lastReport: WGHealthReport? {
        lastReportJSON.flatMap { try? JSONDecoder().decode(WGHealthReport.self, from: Data($0.utf8)) }
    }
}

/// A token as `wghub token list` shows it (never the secret).
public struct WGTokenInfo: Sendable, Equatable {
    public enum Kind: String, Sendable { case enroll, admin }
    public var id: String
    public var kind: Kind
    public var name: String?
    public var profile: String?
    public var createdAt: Date
    public var expiresAt: Date?
    public var maxUses: Int?
    public var uses: Int
    public var revoked: Bool
    /// LAN prefixes a site enrolling with this token may have routed (each announced prefix inside one of them).
    public var lanGrants: [String] = []

    public func state(now: Date) -> String {
        if revoked { return "revoked" }
        if let e = expiresAt, e <= now { return "expired" }
        if let m = maxUses, uses >= m { return "used-up" }
        return "valid"
    }
}

/// What an enrollment changed, for the interface sync and the answer.
public struct WGEnrollOutcome: Sendable {
    public var site: WGSite
    public var credential: String
    public var isNew: Bool
    /// The site as it was before (same public key enrolling again), to drop stale routes.
    public var previous: WGSite?
    /// The LAN prefixes routed for the site now, and before.
    public var routed: [String] = []
    public var previousRouted: [String] = []
}

/// The hub's state: one SQLite file (WAL) in the data folder. Every change is one transaction.
public final class WGHubStore: Sendable {
    public let dbPool: DatabasePool
    public let path: String
    let healthBatcher: WGHealthBatcher
    let credentials = WGCredentialCache()

    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)  // the CLI writes while `serve` runs
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")  // WAL: durable across a process kill
            // A group-commit transaction dirties a few pages per report: with SQLite's default 2 MB cache it spilled
            // pages into the WAL mid-transaction and read them back at commit (profiled: pread at 4-6% of the hub).
            try db.execute(sql: "PRAGMA cache_size = -16384")  // KiB; an upper bound, taken only as pages are used
        }
        self.path = path
        // DatabasePool always uses WAL.
        dbPool = try DatabasePool(path: path, configuration: config)
        healthBatcher = WGHealthBatcher(dbPool: dbPool)
        try Self.migrator.migrate(dbPool)
        for file in [path, path + "-wal", path + "-shm"] { chmod(file, 0o600) }
    }

    public static func open(dataDirectory: String) throws -> WGHubStore {
        try FileManager.default.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try WGHubStore(path: (dataDirectory as NSString).appendingPathComponent("wghub.sqlite"))
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE tokens (
                    id TEXT PRIMARY KEY,
                    hash TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL CHECK (kind IN ('enroll', 'admin')),
                    name TEXT, profile TEXT,
                    created_at REAL NOT NULL, expires_at REAL,
                    max_uses INTEGER, uses INTEGER NOT NULL DEFAULT 0,
                    revoked INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE sites (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    public_key TEXT NOT NULL UNIQUE,
                    address TEXT NOT NULL UNIQUE,
                    hostname TEXT NOT NULL,
                    listen_port INTEGER NOT NULL,
                    os TEXT, agent_version TEXT,
                    lan_subnets TEXT NOT NULL DEFAULT '[]',
                    credential_hash TEXT NOT NULL UNIQUE,
                    observed_address TEXT,
                    profile TEXT, token_id TEXT,
                    enrolled_at REAL NOT NULL, updated_at REAL NOT NULL,
                    last_report_at REAL, last_seq INTEGER, last_report TEXT,
                    probe_verdict TEXT, probe_at REAL
                );
                CREATE TABLE reports (
                    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    seq INTEGER NOT NULL,
                    received_at REAL NOT NULL,
                    agent_time INTEGER NOT NULL,
                    body TEXT NOT NULL,
                    PRIMARY KEY (site_id, seq)
                ) WITHOUT ROWID;
                CREATE TABLE probes (
                    id TEXT PRIMARY KEY,
                    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                    port INTEGER NOT NULL,
                    sent_to TEXT NOT NULL,
                    nonce TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    verdict TEXT, reported_at REAL
                );
                CREATE INDEX probes_site ON probes(site_id, created_at);
                """)
        }
        // v2: the agent's words for the last port-forward probe, for the dashboard.
        m.registerMigration("v2") { db in
            try db.execute(sql: "ALTER TABLE sites ADD COLUMN probe_detail TEXT")
        }
        // v3: LAN routes are granted (by a token or an admin), not claimed. Sites enrolled before keep what was
        // routed for them (an upgrade must not cut live LANs); the policy's overlap checks still apply to them.
        m.registerMigration("v3") { db in
            try db.execute(sql: """
                ALTER TABLE tokens ADD COLUMN lan_grants TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE sites ADD COLUMN lan_granted TEXT NOT NULL DEFAULT '[]';
                UPDATE sites SET lan_granted = lan_subnets;
                """)
        }
        // v4: one identity per machine. The machine a site enrolled from (a hash the agent sends), and the last
        // time another machine reported with the same credential (a cloned disk run by an older agent, or theft).
        m.registerMigration("v4") { db in
            try db.execute(sql: """
                ALTER TABLE sites ADD COLUMN machine TEXT;
                ALTER TABLE sites ADD COLUMN machine_conflict TEXT;
                ALTER TABLE sites ADD COLUMN machine_conflict_at REAL;
                """)
        }
        // v5: alerts. Incidents per site (start, open, clear, end), receivers (webhook, SMTP) with their secrets, and
        // the outbox: one row per (incident event × receiver), retried until acknowledged (WGAlertStore).
        m.registerMigration("v5") { db in try Self.migrateAlerts(db) }
        // v6: per-site history in minute buckets (two days) and hour buckets (90 days): WGSiteHistory.
        m.registerMigration("v6") { db in try WGSiteHistory.migrate(db) }
        return m
    }

    // MARK: meta

    public func setMeta(_ key: String, _ value: String) throws {
        try dbPool.write { db in
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }

    public func meta(_ key: String) throws -> String? {
        try dbPool.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    // MARK: tokens

    /// Creates a token; returns its public id and the secret (shown once).
    public func createToken(
        kind: WGTokenInfo.Kind, name: String? = nil, profile: String? = nil, ttl: TimeInterval? = nil,
        maxUses: Int? = nil, lanGrants: [String] = [], now: Date = Date()
    ) throws -> (id: String, secret: String) {
        let secret = WGHubSecrets.newSecret(prefix: kind == .admin ? WGHubSecrets.adminPrefix : WGHubSecrets.enrollPrefix)
        let id = WGHubSecrets.newID(prefix: kind == .admin ? "adm_" : "tok_")
        try dbPool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO tokens (id, hash, kind, name, profile, created_at, expires_at, max_uses, lan_grants)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, WGHubSecrets.hash(secret), kind.rawValue, name, profile, now.timeIntervalSince1970,
                            ttl.map { now.timeIntervalSince1970 + $0 }, maxUses, Self.json(lanGrants)])
        }
        return (id, secret)
    }

    public func tokens() throws -> [WGTokenInfo] {
        try dbPool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created_at, id").map(Self.tokenInfo)
        }
    }

    /// Revokes by id; false when there is no such token.
    @discardableResult
    public func revokeToken(id: String) throws -> Bool {
        try dbPool.write { db in
            try db.execute(sql: "UPDATE tokens SET revoked = 1 WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// Throws the refusal when `secret` is not a usable admin token. Async: a synchronous read here, on the
    /// cooperative pool, is what froze the hub under concurrent requests.
    @discardableResult
    public func checkAdmin(secret: String, now: Date = Date()) async throws -> WGTokenInfo {
        guard WGHubSecrets.looksLikeSecret(secret) else { throw WGHubError.adminRefused }
        guard let info = try await adminToken(hash: WGHubSecrets.hash(secret)) else { throw WGHubError.adminRefused }
        guard info.state(now: now) == "valid" else { throw WGHubError.adminRefused }
        return info
    }

    /// True while the admin token `id` is valid (a browser session lives no longer than the token it signed in with).
    public func isValidAdminToken(id: String, now: Date = Date()) async throws -> Bool {
        try await adminToken(id: id)?.state(now: now) == "valid"
    }

    /// The admin token with this secret's hash, or with this id (off the cooperative pool).
    private func adminToken(hash: String? = nil, id: String? = nil) async throws -> WGTokenInfo? {
        let (column, value) = hash.map { ("hash", $0) } ?? ("id", id ?? "")
        return try await dbPool.readOffPool { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM tokens WHERE \(column) = ? AND kind = 'admin'"), arguments: [value])
                .map(Self.tokenInfo)
        }
    }

    /// True when `secret` is an enrollment token that can still be used (the rate limiter's lockdown lets these through).
    public func isUsableEnrollToken(_ secret: String, now: Date = Date()) async throws -> Bool {
        guard WGHubSecrets.looksLikeSecret(secret) else { return false }
        let hash = WGHubSecrets.hash(secret)
        let info = try await dbPool.readOffPool { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM tokens WHERE hash = ? AND kind = 'enroll'"), arguments: [hash])
                .map(Self.tokenInfo)
        }
        return info?.state(now: now) == "valid"
    }

    static func tokenInfo(_ row: Row) -> WGTokenInfo {
        WGTokenInfo(
            id: row["id"], kind: WGTokenInfo.Kind(rawValue: row["kind"]) ?? .enroll, name: row["name"],
            profile: row["profile"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            expiresAt: (row["expires_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            maxUses: row["max_uses"], uses: row["uses"], revoked: row["revoked"],
            lanGrants: Self.list(row["lan_grants"]))
    }

    static func json(_ list: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(list)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func list(_ text: String?) -> [String] {
        text.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
    }

    // MARK: enrollment

    /// One transaction: check and use the token, keep or allocate the address, store the site with a new
    /// credential, then run `apply` (the interface change) before commit, so a failed `wg set` leaves
    /// nothing behind. Under any number of concurrent calls each address and each token use is handed out once.
    ///
    /// A public key already enrolled is re-enrolled only with that site's own `credential` (no token use is
    /// taken): a public key is public, so a token alone never changes another site's record.
    public func enroll(
        tokenSecret: String, credential: String? = nil, request: WGEnrollRequest, observedAddress: String?,
        pool: WGAddressPool, now: Date = Date(), apply: @escaping @Sendable (WGEnrollOutcome) throws -> Void = { _ in }
    ) async throws -> WGEnrollOutcome {
        try await enroll(tokenSecret: tokenSecret, credential: credential, request: request, observedAddress: observedAddress,
                         pool: pool, policy: WGLANPolicy(pool: pool), now: now, apply: apply)
    }

    public func enroll(
        tokenSecret: String, credential: String?, request: WGEnrollRequest, observedAddress: String?,
        pool: WGAddressPool, policy: WGLANPolicy, now: Date = Date(),
        apply: @escaping @Sendable (WGEnrollOutcome) throws -> Void
    ) async throws -> WGEnrollOutcome {
        let tokenHash = WGHubSecrets.looksLikeSecret(tokenSecret) ? WGHubSecrets.hash(tokenSecret) : nil
        let credentialHash = credential.flatMap { WGHubSecrets.looksLikeSecret($0) ? WGHubSecrets.hash($0) : nil }
        let newCredential = WGHubSecrets.newSecret(prefix: WGHubSecrets.credentialPrefix)
        let credentials = self.credentials
        let input = EnrollInput(
            tokenGiven: !tokenSecret.isEmpty, tokenHash: tokenHash, credentialHash: credentialHash, newCredential: newCredential, request: request,
            observedAddress: observedAddress, pool: pool, policy: policy, now: now)
        // A re-enrollment replaces the site's credential: the old one must stop working at commit.
        defer { credentials.invalidate() }
        return try await dbPool.writeOffPool { db in
            credentials.invalidate()
            return try Self.enrollTransaction(db, input, apply: apply)
        }
    }

    struct EnrollInput: Sendable {
        var tokenGiven: Bool
        var tokenHash: String?
        var credentialHash: String?
        var newCredential: String
        var request: WGEnrollRequest
        var observedAddress: String?
        var pool: WGAddressPool
        var policy: WGLANPolicy
        var now: Date
    }

    /// The body of `enroll`, inside its write transaction.
    private static func enrollTransaction(
        _ db: Database, _ input: EnrollInput, apply: (WGEnrollOutcome) throws -> Void
    ) throws -> WGEnrollOutcome {
            let (tokenHash, credentialHash, newCredential, request) = (input.tokenHash, input.credentialHash, input.newCredential, input.request)
            let (observedAddress, pool, policy, now) = (input.observedAddress, input.pool, input.policy, input.now)
            let t = now.timeIntervalSince1970
            let previousRow = try Row.fetchOne(db, sql: "SELECT * FROM sites WHERE public_key = ?", arguments: [request.publicKey])
            let previous = previousRow.map(Self.site)
            // A token, when given, must be usable (also for a re-enrollment, which then takes a use); an enrolled
            // key must also prove itself with its site's credential. A site re-enrolls with its credential alone.
            var token: WGTokenInfo?
            if input.tokenGiven || previous == nil {
                guard let tokenHash, let row = try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE hash = ?", arguments: [tokenHash]) else {
                    throw WGHubError.tokenUnknown
                }
                let info = Self.tokenInfo(row)
                guard info.kind == .enroll else { throw WGHubError.tokenUnknown }
                switch info.state(now: now) {
                case "revoked": throw WGHubError.tokenRevoked
                case "expired": throw WGHubError.tokenExpired
                case "used-up": throw WGHubError.tokenUsedUp
                default: break
                }
                token = info
            }
            if let previous, let previousRow {
                guard let credentialHash, credentialHash == (previousRow["credential_hash"] as String) else {
                    throw WGHubError.keyEnrolled(previous.id)
                }
            }
            // Granted: what this site had granted before and still announces, and what the token's --lan covers.
            let tokenGrants = (token?.lanGrants ?? []).compactMap { try? WGCIDR($0) }
            let kept = Set(previous?.lanGranted ?? [])
            let granted = request.lanSubnets.filter { p in
                kept.contains(p) || tokenGrants.contains { g in (try? WGCIDR(p)).map(g.contains) == true }
            }
            let address: String
            if let previous, pool.contains(previous.address) {
                address = previous.address
            } else {
                let used = Set(try String.fetchAll(db, sql: "SELECT address FROM sites"))
                guard let free = pool.firstFree(excluding: used) else { throw WGHubError.poolFull }
                address = free
            }
            if let previous {
                try db.execute(
                    sql: """
                        UPDATE sites SET address = ?, hostname = ?, listen_port = ?, os = ?, agent_version = ?,
                        lan_subnets = ?, lan_granted = ?, credential_hash = ?, observed_address = ?, updated_at = ?,
                        machine = COALESCE(?, machine)
                        WHERE id = ?
                        """,
                    arguments: [address, request.hostname, request.listenPort, request.os, request.agentVersion,
                                Self.json(request.lanSubnets), Self.json(granted), WGHubSecrets.hash(newCredential),
                                observedAddress, t, request.machine, previous.id])
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO sites (public_key, address, hostname, listen_port, os, agent_version, lan_subnets,
                        lan_granted, credential_hash, observed_address, profile, token_id, enrolled_at, updated_at, machine)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [request.publicKey, address, request.hostname, request.listenPort, request.os,
                                request.agentVersion, Self.json(request.lanSubnets), Self.json(granted),
                                WGHubSecrets.hash(newCredential), observedAddress, token?.profile, token?.id, t, t,
                                request.machine])
            }
            if let token { try db.execute(sql: "UPDATE tokens SET uses = uses + 1 WHERE id = ?", arguments: [token.id]) }
            let site = try Row.fetchOne(db, sql: "SELECT * FROM sites WHERE public_key = ?", arguments: [request.publicKey]).map(Self.site)!
            let others = try Row.fetchAll(db, sql: "SELECT * FROM sites WHERE id != ?", arguments: [site.id]).map(Self.site)
            var outcome = WGEnrollOutcome(site: site, credential: newCredential, isNew: previous == nil, previous: previous)
            outcome.routed = policy.routed(site, others: others)
            outcome.previousRouted = previous.map { policy.routed($0, others: others) } ?? []
            try apply(outcome)
            return outcome
    }

    /// Grants or withdraws LAN prefixes of one site (admin). Checks each grant's form and that no other site
    /// has it granted already; the policy decides at apply time what is routed. Returns the site as stored.
    public func updateGrants(
        siteID: Int64, grant: [String], revoke: [String], policy: WGLANPolicy,
        apply: @escaping @Sendable (_ site: WGSite, _ others: [WGSite], _ before: WGSite) throws -> Void = { _, _, _ in }
    ) async throws -> WGSite {
        let grant = try grant.map(policy.checkGrant)
        let revoke = try revoke.map(policy.checkGrant)
        let site = try await dbPool.writeOffPool { db -> WGSite in
            guard let before = try Row.fetchOne(db, sql: "SELECT * FROM sites WHERE id = ?", arguments: [siteID]).map(Self.site) else {
                throw WGHubError(404, "site_unknown", "no site \(siteID): list them with GET /v1/sites or `wghub site list`")
            }
            let others = try Row.fetchAll(db, sql: "SELECT * FROM sites WHERE id != ?", arguments: [siteID]).map(Self.site)
            for p in grant {
                let c = try WGCIDR(p)
                for o in others {
                    for t in o.lanGranted where (try? WGCIDR(t))?.overlaps(c) == true {
                        throw WGHubError(409, "lan_taken", "\(p) overlaps \(t), granted to site \(o.id) (\(o.hostname)): withdraw it there first")
                    }
                }
            }
            var granted = before.lanGranted.filter { !revoke.contains($0) }
            for p in grant where !granted.contains(p) { granted.append(p) }
            try db.execute(sql: "UPDATE sites SET lan_granted = ?, updated_at = ? WHERE id = ?",
                           arguments: [Self.json(granted), Date().timeIntervalSince1970, siteID])
            try Self.bumpGeneration(db)
            var site = before
            site.lanGranted = granted
            try apply(site, others, before)
            return site
        }
        return site
    }

    /// A counter the CLI bumps when it changes what the running hub must apply (grants, deletions): `serve` polls it.
    static func bumpGeneration(_ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO meta(key, value) VALUES ('generation', '1')
            ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
            """)
    }

    public func generation() async throws -> String {
        try await dbPool.readOffPool { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'generation'") ?? "0" }
    }

    // MARK: sites

    public func allSites() async throws -> [WGSite] {
        try await dbPool.readOffPool { db in try Row.fetchAll(db, sql: "SELECT * FROM sites ORDER BY id").map(Self.site) }
    }

    public func site(id: Int64) async throws -> WGSite? {
        try await dbPool.readOffPool { db in try Row.fetchOne(db, sql: "SELECT * FROM sites WHERE id = ?", arguments: [id]).map(Self.site) }
    }

    /// The id and key of the site a credential belongs to; nil when unknown. From memory once seen (see
    /// WGCredentialCache); otherwise one read of the two columns needed, not the whole row.
    public func siteKey(credential: String) async throws -> WGSiteKey? {
        guard WGHubSecrets.looksLikeSecret(credential) else { return nil }
        let hash = WGHubSecrets.hash(credential)
        let (cached, generation) = credentials.get(hash)
        if let cached { return cached }
        let key = try await dbPool.readOffPool { db -> WGSiteKey? in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, public_key FROM sites WHERE credential_hash = ?"), arguments: [hash])
            return row.map { WGSiteKey(id: $0[0], publicKey: $0[1]) }
        }
        if let key { credentials.put(hash, key, seen: generation) }
        return key
    }

    /// The site a known-good credential belongs to, from memory only (nil when not cached): lets a real site
    /// through while its address is throttled for others' bad guesses.
    public func cachedSiteKey(credential: String) -> WGSiteKey? {
        guard WGHubSecrets.looksLikeSecret(credential) else { return nil }
        return credentials.get(WGHubSecrets.hash(credential)).0
    }

    /// The site a credential belongs to; nil when unknown.
    public func site(credential: String) async throws -> WGSite? {
        guard WGHubSecrets.looksLikeSecret(credential) else { return nil }
        let hash = WGHubSecrets.hash(credential)
        return try await dbPool.readOffPool { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sites WHERE credential_hash = ?", arguments: [hash])
                .map(Self.site)
        }
    }

    /// Deletes the site (its reports, probes and history go with it: foreign keys, ON DELETE CASCADE; incidents as
    /// `dropIncidents` says) after `apply` succeeded; nil when unknown.
    /// `apply` gets the site and the others (what was routed for it depends on them).
    public func deleteSite(id: Int64, apply: @escaping @Sendable (WGSite, [WGSite]) throws -> Void = { _, _ in }) async throws -> WGSite? {
        let credentials = self.credentials
        defer { credentials.invalidate() }  // after commit: the deleted site's credential is refused from now on
        return try await dbPool.writeOffPool { db in
            credentials.invalidate()
            guard let site = try Row.fetchOne(db, sql: "SELECT * FROM sites WHERE id = ?", arguments: [id]).map(Self.site) else {
                return nil
            }
            let others = try Row.fetchAll(db, sql: "SELECT * FROM sites WHERE id != ?", arguments: [id]).map(Self.site)
            try db.execute(sql: "DELETE FROM sites WHERE id = ?", arguments: [id])
            try Self.dropIncidents(db, siteID: id)
            try Self.bumpGeneration(db)
            try apply(site, others)
            return site
        }
    }

    /// Stores a health report unless its sequence number is already there; keeps at most `retention`
    /// reports per site. Returns whether it was stored.
    public func recordHealth(
        siteID: Int64, report: WGHealthReport, body: String, observedAddress: String?, retention: Int, now: Date = Date(),
        thresholds: WGStatusThresholds = .init(), history: Bool = true
    ) async throws -> Bool {
        try await healthBatcher.record(siteID: siteID, report: report, body: body, observedAddress: observedAddress,
                                       retention: retention, time: now.timeIntervalSince1970, thresholds: thresholds, history: history)
    }

    public func reportCount(siteID: Int64) throws -> Int {
        try dbPool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM reports WHERE site_id = ?", arguments: [siteID]) ?? 0 }
    }

    public func reportSeqs(siteID: Int64) throws -> [Int64] {
        try dbPool.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM reports WHERE site_id = ? ORDER BY seq", arguments: [siteID]) }
    }

    // MARK: probes

    public func createProbe(siteID: Int64, port: Int, sentTo: String, nonce: String, now: Date = Date()) async throws -> String {
        let id = WGHubSecrets.newID(prefix: "prb_")
        try await dbPool.writeOffPool { db in
            try db.execute(
                sql: "INSERT INTO probes (id, site_id, port, sent_to, nonce, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, siteID, port, sentTo, nonce, now.timeIntervalSince1970])
            // Keep the last 20 probes per site.
            try db.execute(
                sql: "DELETE FROM probes WHERE site_id = ? AND id NOT IN (SELECT id FROM probes WHERE site_id = ? ORDER BY created_at DESC LIMIT 20)",
                arguments: [siteID, siteID])
        }
        return id
    }

    /// Records what the agent saw for its probe and stores the verdict on the site. A probe is answered once.
    public func completeProbe(siteID: Int64, probeID: String, seenNonce: String?, agentVerdict: String? = nil,
                              now: Date = Date(), history: Bool = true) async throws -> String {
        try await dbPool.writeOffPool { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM probes WHERE id = ? AND site_id = ?", arguments: [probeID, siteID]) else {
                throw WGHubError(404, "probe_unknown", "no probe \(probeID) for this site: start one with POST /v1/probe")
            }
            if (row["verdict"] as String?) != nil {
                throw WGHubError(409, "probe_already_reported", "probe \(probeID) already has a result: start a new probe")
            }
            let nonce: String = row["nonce"]
            let verdict: String
            switch seenNonce {
            case nil, "": verdict = "closed"
            case let s? where s == nonce: verdict = "open"
            default: verdict = "mismatch"
            }
            let t = now.timeIntervalSince1970
            try db.execute(sql: "UPDATE probes SET verdict = ?, reported_at = ? WHERE id = ?", arguments: [verdict, t, probeID])
            // The agent's words only where they agree with what the hub can tell from the nonce.
            let detail = verdict == "open" ? "forwarded" : verdict == "closed" && agentVerdict != "forwarded" ? agentVerdict : nil
            try db.execute(sql: "UPDATE sites SET probe_verdict = ?, probe_detail = ?, probe_at = ? WHERE id = ?",
                           arguments: [verdict, detail, t, siteID])
            if history { try WGSiteHistory.recordProbe(db, siteID: siteID, verdict: verdict, time: t) }
            return verdict
        }
    }

    static func site(_ row: Row) -> WGSite {
        let subnetsJSON: String = row["lan_subnets"]
        return WGSite(
            id: row["id"], publicKey: row["public_key"], address: row["address"], hostname: row["hostname"],
            listenPort: row["listen_port"], os: row["os"], agentVersion: row["agent_version"],
            lanSubnets: (try? JSONDecoder().decode([String].self, from: Data(subnetsJSON.utf8))) ?? [],
            lanGranted: Self.list(row["lan_granted"]),
            observedAddress: row["observed_address"], profile: row["profile"],
            enrolledAt: Date(timeIntervalSince1970: row["enrolled_at"]),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"]),
            lastReportAt: (row["last_report_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            lastSeq: row["last_seq"],
            lastReportJSON: row["last_report"],
            probeVerdict: row["probe_verdict"], probeDetail: row["probe_detail"],
            probeAt: (row["probe_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            machine: row["machine"], machineConflict: row["machine_conflict"],
            machineConflictAt: (row["machine_conflict_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
