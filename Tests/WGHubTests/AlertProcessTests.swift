import Foundation
import WGAgent
import WGModel
import XCTest

@testable import WGHub

/// The real `wghub serve` and `wghub alert` in real time: a site that stops reporting gets one "opened" and, once
/// it reports again, one "resolved" at a real webhook receiver — with the hub killed (-9) and started again while
/// the problem was pending, and the receiver down when the first notification was due.
final class AlertProcessTests: XCTestCase {
    func startServe(_ bin: String, dir: String) throws -> (Child, String, String) {
        let child = try Child([
            bin, "serve", "--listen", "127.0.0.1:0", "--data", dir, "--endpoint", "203.0.113.1:51820", "--pool", "192.0.2.0/24",
            "--no-interface", "--hub-public-key", WGKey.generatePrivate().publicKey.base64, "--log-level", "warning",
            "--stale-after", "1s", "--offline-after", "2s", "--alert-grace", "5s", "--alert-hold-down", "0", "--alert-interval", "0.5s",
        ])
        return (child, try child.waitForLine(startingWith: "wghub listening on "), try child.waitForLine(startingWith: "pin "))
    }

    func waitFor(_ what: String, timeout: TimeInterval = 30, _ check: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await check() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTFail("not within \(Int(timeout)) s: \(what)")
        throw ProcessFailure(what)
    }

    func testServeSendsOneOpenedAndOneResolvedThroughKill9AndAReceiverThatWasDown() async throws {
        guard let bin = wghubBinary else {
            try requireEnvironment(false, "the wghub binary is not built next to the tests (swift build first)")
            return
        }
        let receiver = WebhookReceiver(secret: "proc-secret")
        let port = try await receiver.start()
        await receiver.stop()
        let dir = try makeTempDir()
        var (server, url, pin) = try startServe(bin, dir: dir)
        defer { server.stop() }

        let added = try runCommand([bin, "alert", "add", "--data", dir, "--allow-private-receivers", "--webhook", "http://127.0.0.1:\(port)/hook", "--secret", "proc-secret"]).out
        let receiverID = String(added.prefix { !$0.isWhitespace })
        XCTAssertTrue(receiverID.hasPrefix("rcv_"), added)
        let listed = try runCommand([bin, "alert", "list", "--data", dir]).out
        XCTAssertTrue(listed.contains(receiverID) && listed.contains("(signed)"), listed)
        XCTAssertFalse(listed.contains("proc-secret"), "never printed back: \(listed)")

        let token = try runCommand([bin, "token", "create", "--data", dir, "--uses", "1"]).out.split(separator: "\n").map(String.init)[1]
        var client = try WGHTTPClient(baseURL: url, verification: .pin(pin), connectTimeout: 2, timeout: 5)
        let enrolled: WGEnrollResponse = try client.post("/v1/enroll", enrollBody(token: token, hostname: "site-p"))
        var seq: Int64 = 0
        func report() throws {
            seq += 1
            let _: WGHealthAck = try client.post("/v1/health", healthReport(seq), bearer: enrolled.credential)
        }
        try report()
        let store = try WGHubStore.open(dataDirectory: dir)
        // Offline 2 s after that report: pending for the 5 s grace. The hub is killed and started again meanwhile.
        try await waitFor("a pending incident") { try await store.incidents().contains { $0.state == "pending" } }
        server.signal(SIGKILL)
        server.process.waitUntilExit()
        (server, url, pin) = try startServe(bin, dir: dir)
        client = try WGHTTPClient(baseURL: url, verification: .pin(pin), connectTimeout: 2, timeout: 5)
        try await waitFor("the opened notification tried at a receiver that is down") {
            try await store.deliveries().contains { $0.event == "opened" && $0.attempts >= 1 && $0.lastError?.contains("cannot connect") == true }
        }
        await AssertEqual(try await store.incidents(all: true).count, 1, "one incident, though the hub restarted during its grace")
        _ = try await receiver.start(port: port)
        defer { Task { await receiver.stop() } }
        try await waitFor("the opened notification delivered after the receiver came back") { receiver.received.count >= 1 }

        try report()
        try await waitFor("the resolved notification") { receiver.received.count >= 2 }
        try await Task.sleep(for: .seconds(2))
        let hits = receiver.received
        XCTAssertEqual(hits.compactMap { $0.json?["event"] as? String }, ["opened", "resolved"], "once each")
        XCTAssertTrue(hits.allSatisfy(\.signatureOK))
        XCTAssertEqual(hits.compactMap { ($0.json?["site"] as? [String: Any])?["hostname"] as? String }, ["site-p", "site-p"])

        let tested = try runCommand([bin, "alert", "test", "--data", dir, receiverID]).out
        XCTAssertTrue(tested.contains("delivered dlv_"), tested)
        XCTAssertEqual(receiver.received.last?.json?["event"] as? String, "test")
        XCTAssertEqual(receiver.received.count, 3)
        _ = try runCommand([bin, "alert", "remove", "--data", dir, receiverID])
        XCTAssertFalse(try runCommand([bin, "alert", "list", "--data", dir]).out.contains(receiverID))
    }

    func testSIGTERMStopsTheHubPromptlyWhileADeliveryHangs() async throws {
        guard let bin = wghubBinary else {
            try requireEnvironment(false, "the wghub binary is not built next to the tests (swift build first)")
            return
        }
        let receiver = WebhookReceiver(secret: nil)
        let port = try await receiver.start()
        defer { Task { await receiver.stop() } }
        receiver.status = 0
        let dir = try makeTempDir()
        let (server, _, _) = try startServe(bin, dir: dir)
        defer { server.stop() }
        let id = String(try runCommand([bin, "alert", "add", "--data", dir, "--allow-private-receivers", "--webhook", "http://127.0.0.1:\(port)/hook"]).out.prefix { !$0.isWhitespace })
        let store = try WGHubStore.open(dataDirectory: dir)
        _ = try await store.enqueueTest(receiverID: id, hub: nil)
        try await waitFor("the hub's delivery in flight at the hanging receiver") { receiver.received.count >= 1 }
        let asked = Date()
        server.signal(SIGTERM)
        while server.process.isRunning && Date().timeIntervalSince(asked) < 20 { try await Task.sleep(for: .milliseconds(50)) }
        let took = Date().timeIntervalSince(asked)
        XCTAssertFalse(server.process.isRunning)
        XCTAssertLessThan(took, 8, "SIGTERM ends a delivery in flight (shutdown timeout 5 s + 2 s)")
        XCTAssertEqual(server.process.terminationReason, .exit, "no crash: \(server.text.suffix(500))")
        XCTAssertEqual(server.process.terminationStatus, 0, server.text)
        let row = try await store.deliveries().first
        XCTAssertNil(row?.deliveredAt, "not acknowledged: it stays in the outbox")
    }
}
