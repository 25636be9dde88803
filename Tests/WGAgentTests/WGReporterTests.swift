import Foundation
import WGModel
import WGProvision
import XCTest

@testable import WGAgent
@testable import WGHub

/// Health reports: numbering, spool bound, order, no duplicates, against the real hub over TLS.
final class WGReporterTests: XCTestCase {
    func testBackoffGrowsWithJitterUpToTheCap() {
        let b = WGBackoff(base: 2, cap: 60)
        XCTAssertEqual(b.delay(failures: 0), 0)
        XCTAssertEqual(b.delay(failures: 1, unit: 0), 1)
        XCTAssertEqual(b.delay(failures: 1, unit: 1), 2)
        XCTAssertEqual(b.delay(failures: 4, unit: 1), 16)
        XCTAssertEqual(b.delay(failures: 40, unit: 1), 60)
        XCTAssertEqual(b.delay(failures: 40, unit: 0), 30)
        let spread = Set((0..<50).map { _ in b.delay(failures: 5) })
        XCTAssertGreaterThan(spread.count, 10, "jitter spreads the retries")
        XCTAssertTrue(spread.allSatisfy { (16...32).contains($0) })
    }

    func testSequenceIsPersistedAndSpoolIsBoundedDroppingTheOldest() throws {
        let host = fakeDebian()
        let seq = WGReportSequence(host: host)
        XCTAssertEqual(try seq.next(), 1)
        XCTAssertEqual(try WGReportSequence(host: host).next(), 2, "a new reporter continues the numbering")
        XCTAssertEqual(host.fileInfo(WGReportSequence.path)?.permissions, 0o600)

        let spool = WGSpool(host: host, limit: 3)
        for n in 1...5 { try spool.add(WGHealthReport(seq: Int64(n), agentTime: 0, interface: "wg0")) }
        XCTAssertEqual(spool.pending(), [3, 4, 5])
        XCTAssertEqual(spool.dropped, 2)
        XCTAssertEqual(host.fileInfo(WGSpool.directory)?.permissions, 0o700)
        XCTAssertEqual(host.fileInfo(WGSpool.directory + "/000000000004.json")?.permissions, 0o600)
        try spool.add(WGHealthReport(seq: 5, agentTime: 1, interface: "wg0"))
        XCTAssertEqual(spool.pending(), [3, 4, 5], "the same number is stored once")
        XCTAssertEqual(try spool.load(5)?.agentTime, 1)
    }

    func testHubDownReportsSpoolAndGoOutInOrderOnceNoneTwice() async throws {
        let hub = try LiveHub()
        let token = try hub.token()
        let host = fakeDebian()
        host.respond(to: ["wg", "show", "wg0", "dump"], with: WGCommandResult(status: 1, stderr: "Unable to access interface: No such device"))
        try await hub.serve { url in
            let facts = try WGFacts.gather(host)
            let e = try await blocking {
                try WGEnroller(host: host, facts: facts).enroll(WGEnrollOptions(hubURL: url, token: token, pin: hub.tls.pin, profile: siteGateway)).enrollment
            }
            let site = try await hub.store.allSites()[0].id
            let collector = WGHealthCollector(doctor: WGDoctor(host: host, facts: facts, enrollment: e))

            // The hub "down": nothing listens where the reporter sends.
            let dead = try WGHTTPClient(baseURL: "https://127.0.0.1:1", verification: .pin(hub.tls.pin), connectTimeout: 1, timeout: 2)
            let down = try WGReporter(host: host, enrollment: e, collector: collector, spoolLimit: 4, client: dead)
            var logs: [String] = []
            down.log = { logs.append($0) }
            for _ in 1...6 {
                guard case .pending(0, _, let reason) = try down.once() else { return XCTFail("delivered while down") }
                XCTAssertTrue(reason.contains("cannot connect"), reason)
            }
            XCTAssertEqual(down.spool.pending(), [3, 4, 5, 6], "bounded: the 2 oldest went")
            XCTAssertEqual(down.spool.dropped, 2)
            XCTAssertTrue(logs.contains { $0.contains("dropped the 1 oldest") }, "\(logs)")

            // One of them reached the hub before (its ack was lost): sending it again must not store it twice.
            let live = try e.client()
            let early = try XCTUnwrap(try down.spool.load(4))
            let ack: WGHealthAck = try await blocking { try live.post("/v1/health", early, bearer: e.credential) }
            XCTAssertTrue(ack.stored)

            // The hub "back": the spool goes out in order, then the new report.
            let result = try await blocking {
                try WGReporter(host: host, enrollment: e, collector: WGHealthCollector(doctor: WGDoctor(host: host, facts: facts, enrollment: e)),
                               spoolLimit: 4, client: live).once()
            }
            XCTAssertEqual(result, .delivered(sent: 5))
            XCTAssertEqual(WGSpool(host: host).pending(), [])
            XCTAssertEqual(try hub.store.reportSeqs(siteID: site), [3, 4, 5, 6, 7], "in order, none lost within the bound, none twice")
            let last = try await hub.store.site(id: site)
            XCTAssertEqual(last?.lastSeq, 7)
            // The report carries the findings and the machine's state.
            let stored = try XCTUnwrap(last?.lastReport)
            XCTAssertEqual(stored.forwarding, true)
            XCTAssertEqual(stored.firewall, "absent")
            XCTAssertTrue(stored.checks.contains { $0.name == "handshake" && !$0.ok }, "\(stored.checks)")
        }
    }

    func testIntervalLoopRetriesWithBackoffAndReportsOnSchedule() throws {
        let host = fakeDebian()
        let e = WGEnrollment(
            hubURL: "https://127.0.0.1:1", pin: nil, caFile: nil, insecureHTTP: false, credential: "wgc_x", siteID: 1, hostname: "site-a",
            profile: "site-gateway", interface: "wg0", publicKey: WGKey.generatePrivate().publicKey.base64, listenPort: 51820,
            address: "192.0.2.2/24", hubPublicKey: WGKey.generatePrivate().publicKey.base64, hubEndpoint: "203.0.113.1:51820",
            allowedIPs: ["192.0.2.0/24"], keepalive: 25, vars: [], enrolledAt: 0)
        let facts = try WGFacts.gather(host)
        let dead = try WGHTTPClient(baseURL: "https://127.0.0.1:1", verification: .system, connectTimeout: 1, timeout: 1)
        let r = try WGReporter(host: host, enrollment: e, collector: WGHealthCollector(doctor: WGDoctor(host: host, facts: facts, enrollment: e)),
                               spoolLimit: 100, client: dead)
        var clock = Date(timeIntervalSince1970: 1_000_000)
        var sleeps: [Double] = []
        r.now = { clock }
        r.sleep = { sleeps.append($0); clock = clock.addingTimeInterval($0) }
        r.backoff = WGBackoff(base: 2, cap: 300)
        r.run(interval: 60, rounds: 8)
        XCTAssertTrue(sleeps.allSatisfy { $0 <= 60 }, "never later than the next report: \(sleeps)")
        XCTAssertLessThan(sleeps[0], 2.01, "first retry soon: \(sleeps)")
        XCTAssertGreaterThan(sleeps[2], sleeps[0], "backoff grows: \(sleeps)")
        let elapsed = clock.timeIntervalSince1970 - 1_000_000
        XCTAssertEqual(r.spool.pending().count, Int((elapsed / 60).rounded(.up)), "one report per interval, all kept while the hub is away")
    }
}
