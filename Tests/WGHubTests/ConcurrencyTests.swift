import Foundation
import HummingbirdTesting
import WGModel
import XCTest

@testable import WGHub

final class ConcurrencyTests: XCTestCase {
    func testHundredParallelEnrollmentsGetDistinctAddresses() async throws {
        let t = try TestHub()
        let token = try t.token(uses: 100)
        let addresses = try await t.app().test(.router) { client in
            try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        let r = try await client.postJSON("/v1/enroll", enrollBody(token: token, hostname: "site-\(i)"))
                        XCTAssertEqual(r.status, .ok)
                        return try decodeJSON(WGEnrollResponse.self, r.body).address
                    }
                }
                var all: [String] = []
                for try await a in group { all.append(a) }
                return all
            }
        }
        XCTAssertEqual(addresses.count, 100)
        XCTAssertEqual(Set(addresses).count, 100, "every enrollment got its own address")
        XCTAssertFalse(addresses.contains("192.0.2.1/24"), "the hub's address is never handed out")
        XCTAssertEqual(Set(addresses), Set((2...101).map { "192.0.2.\($0)/24" }), "lowest free first, no gaps")
        XCTAssertEqual(t.wg.peers.count, 100)
        XCTAssertEqual(try t.store.tokens().first?.uses, 100)
    }

    func testOneUseTokenIsUsedOnceUnderRace() async throws {
        let t = try TestHub { $0.enrollFailureLimit = 1000 }
        let token = try t.token(uses: 1)
        let statuses = try await t.app().test(.router) { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        Int(try await client.postJSON("/v1/enroll", enrollBody(token: token, hostname: "racer-\(i)")).status.code)
                    }
                }
                var all: [Int] = []
                for try await s in group { all.append(s) }
                return all
            }
        }
        XCTAssertEqual(statuses.filter { $0 == 200 }.count, 1)
        XCTAssertEqual(statuses.filter { $0 == 403 }.count, 49)
        await AssertEqual(try await t.store.allSites().count, 1)
        XCTAssertEqual(t.wg.peers.count, 1)
        XCTAssertEqual(try t.store.tokens().first?.uses, 1)
    }
}
