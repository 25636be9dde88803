import XCTest
import Foundation
import WGModel
@testable import WGHub

final class BlockingWorkTests: XCTestCase {
    func testRunReturnsValueAndError() async throws {
        let v = try await WGBlockingWork.run { 42 }
        XCTAssertEqual(v, 42)
        struct E: Error {}
        do { _ = try await WGBlockingWork.run { () throws -> Int in throw E() }; XCTFail("no error") } catch is E {}
    }

    func testHostCache() async throws {
        let wg = FakeWireGuard()
        let cache = WGHostNetworksCache()
        let h = await cache.get(control: wg, logger: quietLogger(), metrics: WGHubMetrics())
        XCTAssertEqual(h, WGHostNetworks())
    }
}

