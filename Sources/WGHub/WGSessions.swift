import Foundation

/// Browser sessions of admins who signed in with an admin token: in memory only (a restart signs everyone out),
/// bounded in number and age. The cookie carries a random secret; only its hash is kept. Each session has its
/// own CSRF token, which every form posts back.
public final class WGSessions: @unchecked Sendable {
    public struct Session: Sendable, Equatable {
        /// The admin token it signed in with: the session ends when that token is revoked or expires.
        public var adminTokenID: String
        public var csrf: String
        public var created: Date
        public var lastSeen: Date
    }

    /// `__Host-`: the browser keeps it only when Secure, Path=/ and without Domain (no subdomain can set it).
    public static let secureCookieName = "__Host-wghub_session"
    /// Over plain HTTP (`--insecure-http`, lab only) a Secure cookie would not be stored.
    public static let plainCookieName = "wghub_session"

    public let idleTimeout: TimeInterval
    public let maxAge: TimeInterval
    public let capacity: Int
    private let lock = NSLock()
    private var byHash: [String: Session] = [:]

    public init(idleTimeout: TimeInterval = 3600, maxAge: TimeInterval = 12 * 3600, capacity: Int = 256) {
        self.idleTimeout = idleTimeout
        self.maxAge = maxAge
        self.capacity = capacity
    }

    /// A new session (a new secret each time: no fixation). The least recently used one goes when full.
    public func create(adminTokenID: String, now: Date = Date()) -> (cookie: String, session: Session) {
        let cookie = WGHubSecrets.newSecret(prefix: "wgs_")
        let session = Session(adminTokenID: adminTokenID, csrf: WGHubSecrets.newSecret(prefix: "csrf_"), created: now, lastSeen: now)
        lock.withLock {
            dropExpired(now: now)
            if byHash.count >= capacity, let oldest = byHash.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
                byHash[oldest] = nil
            }
            byHash[WGHubSecrets.hash(cookie)] = session
        }
        return (cookie, session)
    }

    /// The live session for a cookie value (its idle clock restarts), nil when unknown or expired.
    public func session(_ cookie: String?, now: Date = Date()) -> Session? {
        guard let cookie, cookie.hasPrefix("wgs_"), cookie.count < 200 else { return nil }
        let key = WGHubSecrets.hash(cookie)
        return lock.withLock {
            guard var s = byHash[key] else { return nil }
            guard now.timeIntervalSince(s.lastSeen) <= idleTimeout, now.timeIntervalSince(s.created) <= maxAge else {
                byHash[key] = nil
                return nil
            }
            s.lastSeen = now
            byHash[key] = s
            return s
        }
    }

    public func end(_ cookie: String?) {
        guard let cookie else { return }
        lock.withLock { byHash[WGHubSecrets.hash(cookie)] = nil }
    }

    public var count: Int { lock.withLock { byHash.count } }

    private func dropExpired(now: Date) {
        byHash = byHash.filter { now.timeIntervalSince($0.value.lastSeen) <= idleTimeout && now.timeIntervalSince($0.value.created) <= maxAge }
    }

    /// A constant-time comparison of the posted CSRF token with the session's.
    public static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
