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

    /// Health reports are group-committed: under a burst, each report is still stored exactly once per
    /// (site, seq), duplicates inside the same batch are answered as duplicates, and retention holds.
    func testConcurrentHealthReportsAreStoredOnceEach() async throws {
        let t = try TestHub { $0.retention = 30 }
        let token = try t.token(uses: 10)
        var sites: [(Int64, String)] = []
        for i in 0..<10 {
            let e = try await t.hub.enroll(enrollBody(token: token, hostname: "s\(i)"), from: "203.0.113.\(i + 10)")
            sites.append((e.siteID!, e.credential))
        }
        // 10 sites × 25 sequence numbers, every report sent twice, all at once.
        let answers = try await withThrowingTaskGroup(of: (Int64, Int64, Bool).self) { group in
            for (id, _) in sites {
                for seq in 1...25 {
                    for _ in 0..<2 {
                        group.addTask {
                            let stored = try await t.store.recordHealth(
                                siteID: id, report: healthReport(Int64(seq)), body: "{\"seq\":\(seq)}", observedAddress: nil, retention: 30)
                            return (id, Int64(seq), stored)
                        }
                    }
                }
            }
            var all: [(Int64, Int64, Bool)] = []
            for try await a in group { all.append(a) }
            return all
        }
        XCTAssertEqual(answers.count, 500)
        for (id, _) in sites {
            let mine = answers.filter { $0.0 == id }
            XCTAssertEqual(mine.filter(\.2).count, 25, "each seq stored exactly once for site \(id)")
            XCTAssertEqual(Set(mine.filter(\.2).map(\.1)), Set(1...25))
            XCTAssertEqual(try t.store.reportSeqs(siteID: id), Array(1...25))
            await AssertEqual(try await t.store.site(id: id)?.lastSeq, 25)
        }
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
