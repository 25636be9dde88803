import Foundation
import HummingbirdTesting
import WGModel
import XCTest

@testable import WGHub

/// One credential, two machines: the hub flags it (site API, failing checks, /metrics) and keeps the site.
final class MachineConflictTests: XCTestCase {
    func testASecondMachineReportingWithOneCredentialIsFlagged() async throws {
        let t = try TestHub()
        var body = enrollBody(token: try t.token())
        body.machine = "a1a1a1a1a1a1a1a1a1a1a1a1"
        let e = try await t.hub.enroll(body, from: nil)
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            var mine = healthReport(1)
            mine.machine = "a1a1a1a1a1a1a1a1a1a1a1a1"
            await AssertEqual(try await client.postJSON("/v1/health", mine, bearer: e.credential).status, .ok)
            var view = try JSONDecoder.iso.decode(WGSiteView.self, from: Data(try await client.get("/v1/sites/\(e.siteID!)", bearer: admin).body.readableBytesView))
            XCTAssertNil(view.machineConflictAt, "the enrolled machine reporting is no conflict")

            var other = healthReport(2)
            other.machine = "b2b2b2b2b2b2b2b2b2b2b2b2"
            await AssertEqual(try await client.postJSON("/v1/health", other, bearer: e.credential).status, .ok)
            view = try JSONDecoder.iso.decode(WGSiteView.self, from: Data(try await client.get("/v1/sites/\(e.siteID!)", bearer: admin).body.readableBytesView))
            XCTAssertNotNil(view.machineConflictAt)
            XCTAssertTrue(view.failingChecks.contains { $0.hasPrefix("identity: a second machine") }, "\(view.failingChecks)")
            let metrics = String(buffer: try await client.get("/metrics", bearer: admin).body)
            XCTAssertTrue(metrics.contains("wghub_site_machine_conflict{") && metrics.contains("} 1\n"), metrics)
        }
        let site = try await t.store.site(id: e.siteID!)
        XCTAssertEqual(site?.machine, "a1a1a1a1a1a1a1a1a1a1a1a1", "the enrolled machine stays the site's")
        XCTAssertEqual(site?.machineConflict, "b2b2b2b2b2b2b2b2b2b2b2b2")
    }
}
