import Foundation

/// What a health report needs to know about its sender: the site's id and WireGuard key.
public struct WGSiteKey: Sendable, Equatable {
    public var id: Int64
    public var publicKey: String
    public init(id: Int64, publicKey: String) {
        self.id = id
        self.publicKey = publicKey
    }
    public init(_ site: WGSite) { self.init(id: site.id, publicKey: site.publicKey) }
}

/// Credential hash -> site, in memory: a health report then needs no read transaction (profiled as the
/// largest cost per report). Only this process changes credentials (enroll) or removes sites (delete), and both
/// call `invalidate()` before and after their commit, so a replaced or deleted credential is refused at once.
/// The generation stops a lookup that read the store before an invalidation from caching what it read.
/// Only known credentials are cached (at most one entry per site); unknown ones always go to the store.
final class WGCredentialCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: WGSiteKey] = [:]
    private var generation: UInt64 = 0

    func get(_ hash: String) -> (WGSiteKey?, UInt64) { lock.withLock { (entries[hash], generation) } }

    /// Caches `key` unless an invalidation happened since `seen` (from `get`).
    func put(_ hash: String, _ key: WGSiteKey, seen: UInt64) {
        lock.withLock { if generation == seen { entries[hash] = key } }
    }

    func invalidate() {
        lock.withLock {
            generation &+= 1
            entries.removeAll()
        }
    }
}
