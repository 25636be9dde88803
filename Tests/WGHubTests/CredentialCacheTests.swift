import XCTest

@testable import WGHub

final class CredentialCacheTests: XCTestCase {
    /// A lookup that read the store before a delete or re-enrollment must not cache what it read.
    func testLookupStartedBeforeAnInvalidationIsNotCached() {
        let cache = WGCredentialCache()
        let key = WGSiteKey(id: 1, publicKey: "k")
        let (_, seen) = cache.get("h")
        cache.invalidate()
        cache.put("h", key, seen: seen)
        XCTAssertNil(cache.get("h").0)
        let (_, now) = cache.get("h")
        cache.put("h", key, seen: now)
        XCTAssertEqual(cache.get("h").0, key)
        cache.invalidate()
        XCTAssertNil(cache.get("h").0, "an invalidation empties the cache")
    }

    /// Through the store: a cached credential stops working as soon as its site is deleted.
    func testDeletedSiteCredentialIsRefusedAtOnce() async throws {
        let t = try TestHub()
        let e = try await t.hub.enroll(enrollBody(token: try t.token()), from: nil)
        await AssertEqual(try await t.store.siteKey(credential: e.credential)?.id, e.siteID)
        await AssertEqual(try await t.store.siteKey(credential: e.credential)?.id, e.siteID, "from memory")
        _ = try await t.hub.deleteSite(id: e.siteID!)
        await AssertNil(try await t.store.siteKey(credential: e.credential))
        await AssertNil(try await t.store.siteKey(credential: "wgc_notavalidcredential"))
    }
}
