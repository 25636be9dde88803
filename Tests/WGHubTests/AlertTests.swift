import Foundation
import HummingbirdTesting
import WGModel
import XCTest

@testable import WGHub

/// Incidents and their notifications, against a real webhook receiver (HTTP on 127.0.0.1) and a real SMTP server
/// (aiosmtpd with STARTTLS and AUTH). Time is driven: each evaluation and delivery is given its `now`, so grace
/// periods and hold-downs are exact; a "restart" is a new WGHubService over the same data folder.
final class AlertTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))

    static func settings(grace: TimeInterval = 30, holdDown: TimeInterval = 0) -> WGAlertSettings {
        var s = WGAlertSettings()
        s.grace = grace
        s.holdDown = holdDown
        s.retryBase = 0.5
        s.retryMax = 1
        s.connectTimeout = 3
        s.totalTimeout = 5
        s.allowPrivateReceivers = true  // the receivers of these tests listen on 127.0.0.1
        return s
    }

    /// One site on a hub over `dir`; `seen(at)` is a handshake plus a health report at that time.
    final class Scenario: @unchecked Sendable {
        let dir: String
        let wg = FakeWireGuard()
        let key = newPublicKey()
        let settings: WGAlertSettings
        var t: TestHub
        var siteID: Int64 = 0
        var seq: Int64 = 0

        init(settings: WGAlertSettings) async throws {
            dir = try makeTempDir("alerts")
            self.settings = settings
            t = try Self.hub(dir, wg, settings)
            siteID = try await t.hub.enroll(enrollBody(token: try t.token(), key: key, hostname: "site-a"), from: nil).siteID!
        }

        static func hub(_ dir: String, _ wg: FakeWireGuard, _ settings: WGAlertSettings) throws -> TestHub {
            try TestHub(dir: dir, wg: wg) {
                $0.thresholds = .init(staleAfter: 60, offlineAfter: 120)
                $0.alerts = settings
            }
        }

        /// wghub stopped and started again: nothing but the data folder carries over.
        func restart() throws { t = try Self.hub(dir, wg, settings) }

        func seen(_ at: Date) async throws {
            wg.setLive(key, handshake: Int64(at.timeIntervalSince1970))
            seq += 1
            _ = try await t.store.recordHealth(siteID: siteID, report: WGHealthReport(seq: seq, agentTime: 0, interface: "wg0"),
                                               body: "{}", observedAddress: nil, retention: 100, now: at)
            try restart()  // a fresh hub reads the interface anew (its dump cache lives a second)
        }

        func evaluate(_ at: Date) async throws -> [Int] {
            let r = try await t.hub.alerts.evaluate(now: at)
            return [r.opened, r.resolved]
        }

        func deliver(_ at: Date) async -> [String?] { await t.hub.alerts.deliverer.deliverDue(now: at).map(\.error) }
    }

    func testOfflineSendsOneOpenedAndOneResolvedAcrossRestartsAndAReceiverThatWasDown() async throws {
        let receiver = WebhookReceiver(secret: "hook-secret")
        let port = try await receiver.start()
        await receiver.stop()  // the receiver is down at first (nothing listens on its port)
        let s = try await Scenario(settings: Self.settings(grace: 30))
        var hook = WGAlertReceiver(kind: .webhook)
        hook.url = "http://127.0.0.1:\(port)/hook"
        hook.format = .generic
        let added = try await s.t.store.addReceiver(hook, secret: "hook-secret", allowPrivate: true)

        try await s.seen(t0)
        await AssertEqual(try await s.evaluate(t0 + 10), [0, 0])
        await AssertEqual(try await s.evaluate(t0 + 130), [0, 0], "offline since t0+120: within the 30 s grace")
        try s.restart()
        await AssertEqual(try await s.evaluate(t0 + 155), [1, 0], "the grace counts from when it went offline, across the restart")
        await AssertEqual(try await s.evaluate(t0 + 156), [0, 0], "one notification per incident, not one per evaluation")
        let gauges = try await s.t.store.alertGauges()
        XCTAssertEqual(gauges.pending, 1)
        XCTAssertEqual(gauges.open, 1)

        var errors = await s.deliver(t0 + 156)
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0]?.contains("cannot connect") == true, "\(errors)")
        XCTAssertEqual(s.t.hub.metrics.value("wghub_alerts_failed_total", label: "channel", "webhook-generic"), 1)

        try s.restart()
        _ = try await receiver.start(port: port)
        defer { Task { await receiver.stop() } }
        receiver.status = 503
        errors = await s.deliver(t0 + 156.2)
        XCTAssertEqual(errors, [], "not due yet: backoff")
        errors = await s.deliver(t0 + 158)
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0]?.contains("HTTP 503") == true, "\(errors)")
        receiver.status = 200
        errors = await s.deliver(t0 + 160)
        XCTAssertEqual(errors, [nil], "delivered once the receiver is back")
        await AssertEqual(await s.deliver(t0 + 400), [], "never again once acknowledged")
        XCTAssertEqual(s.t.hub.metrics.value("wghub_alerts_sent_total", label: "channel", "webhook-generic"), 1)

        try await s.seen(t0 + 200)
        await AssertEqual(try await s.evaluate(t0 + 201), [0, 1])
        await AssertEqual(try await s.evaluate(t0 + 210), [0, 0])
        try s.restart()
        await AssertEqual(await s.deliver(t0 + 211), [nil])
        await AssertEqual(await s.deliver(t0 + 500), [])

        let hits = receiver.received
        XCTAssertEqual(hits.count, 3, "the 503 attempt, then opened and resolved")
        XCTAssertTrue(hits.allSatisfy(\.signatureOK), "every request verifies with the receiver's secret")
        let acked = Array(hits.dropFirst())
        XCTAssertEqual(acked.compactMap { $0.json?["event"] as? String }, ["opened", "resolved"])
        XCTAssertEqual(acked.compactMap { $0.json?["kind"] as? String }, ["offline", "offline"])
        XCTAssertEqual(hits[0].json?["delivery_id"] as? String, hits[1].json?["delivery_id"] as? String, "a retry carries the same delivery id")
        XCTAssertNotEqual(acked[0].json?["delivery_id"] as? String, acked[1].json?["delivery_id"] as? String)
        for h in acked {
            XCTAssertEqual(h.headers["x-wghub-delivery"], h.json?["delivery_id"] as? String)
            XCTAssertEqual((h.json?["site"] as? [String: Any])?["hostname"] as? String, "site-a")
            XCTAssertEqual(h.headers["content-type"], "application/json")
        }
        XCTAssertTrue((acked[0].json?["text"] as? String)?.contains("site-a: offline") == true, "\(acked[0].json ?? [:])")
        let incidents = try await s.t.store.incidents(all: true)
        XCTAssertEqual(incidents.map(\.state), ["resolved"])
        let after = try await s.t.store.alertGauges()
        XCTAssertEqual(after.pending, 0)
        XCTAssertEqual(after.open, 0)
        _ = added
    }

    func testABlipShorterThanTheGraceSendsNothingAndAFlapIsSummarised() async throws {
        let s = try await Scenario(settings: Self.settings(grace: 30, holdDown: 60))
        var hook = WGAlertReceiver(kind: .webhook)
        hook.url = "http://127.0.0.1:9/never"
        _ = try await s.t.store.addReceiver(hook, secret: nil, allowPrivate: true)

        try await s.seen(t0)
        await AssertEqual(try await s.evaluate(t0 + 130), [0, 0], "pending")
        try await s.seen(t0 + 135)
        await AssertEqual(try await s.evaluate(t0 + 136), [0, 0])
        await AssertEqual(try await s.t.store.incidents(all: true).count, 0, "a blip leaves no incident")
        await AssertEqual(try await s.t.store.deliveries().count, 0, "and sends nothing")

        // Port forward: closed, open, closed again within the hold-down, open: one page and one summary.
        func probe(_ at: Date, open: Bool) async throws {
            let id = try await s.t.store.createProbe(siteID: s.siteID, port: 51820, sentTo: "203.0.113.2:51820", nonce: "n\(at.timeIntervalSince1970)", now: at)
            _ = try await s.t.store.completeProbe(siteID: s.siteID, probeID: id, seenNonce: open ? "n\(at.timeIntervalSince1970)" : nil,
                                                  agentVerdict: open ? "forwarded" : "not reaching the VM", now: at)
        }
        try await s.seen(t0 + 137)
        try await probe(t0 + 137, open: false)
        await AssertEqual(try await s.evaluate(t0 + 170), [0, 0], "a forward never seen open is not paged as closed")
        try await probe(t0 + 138, open: true)
        try await probe(t0 + 140, open: false)
        await AssertEqual(try await s.evaluate(t0 + 171), [1, 0], "an open forward that closed is")
        try await probe(t0 + 175, open: true)
        await AssertEqual(try await s.evaluate(t0 + 176), [0, 0], "cleared: the hold-down runs")
        try await probe(t0 + 180, open: false)
        await AssertEqual(try await s.evaluate(t0 + 181), [0, 0], "back within the hold-down: a flap, not a page")
        try await probe(t0 + 185, open: true)
        await AssertEqual(try await s.evaluate(t0 + 186), [0, 0])
        await AssertEqual(try await s.evaluate(t0 + 240), [0, 0], "54 s clear: still held")
        await AssertEqual(try await s.evaluate(t0 + 247), [0, 1])
        let rows = try await s.t.store.deliveries()
        XCTAssertEqual(rows.map(\.event).sorted(), ["opened", "resolved"])
        let incident = try await s.t.store.incidents(all: true)
        XCTAssertEqual(incident.map(\.kind), ["port_forward"])
        XCTAssertEqual(incident.first?.flaps, 1)
        let payload = try await s.t.store.dbPool.readOffPool { db in
            try String.fetchOne(db, sql: "SELECT payload FROM alert_outbox WHERE event = 'resolved'")
        }
        let event = try WGAlertEvent.decoder.decode(WGAlertEvent.self, from: Data(payload!.utf8))
        XCTAssertEqual(event.flaps, 1)
        XCTAssertTrue(event.text.contains("flapped 1 time"), event.text)
    }

    func testEmailOverSTARTTLSWithAuthToARealSMTPServer() async throws {
        let sink: SMTPSink
        do { sink = try SMTPSink(user: "alerts", password: "mail-pass") } catch let e as XCTSkip {
            try requireEnvironment(false, "\(e)")
            return
        }
        defer { sink.stop() }
        let s = try await Scenario(settings: Self.settings(grace: 30))
        var mail = WGAlertReceiver(kind: .smtp)
        mail.host = "localhost"
        mail.port = sink.port
        mail.from = "wghub@example.net"
        mail.to = ["ops@example.net", "oncall@example.net"]
        mail.user = "alerts"
        mail.starttls = true
        mail.caFile = sink.certificate
        _ = try await s.t.store.addReceiver(mail, secret: "mail-pass", allowPrivate: true)
        var wrong = mail
        wrong.to = ["nobody@example.net"]
        _ = try await s.t.store.addReceiver(wrong, secret: "not-the-password", allowPrivate: true)

        try await s.seen(t0)
        await AssertEqual(try await s.evaluate(t0 + 151), [1, 0])
        try s.restart()
        var errors = await s.deliver(t0 + 152)
        XCTAssertEqual(errors.filter { $0 == nil }.count, 1, "\(errors)")
        XCTAssertTrue(errors.contains { $0?.contains("AUTH") == true && $0?.contains("535") == true }, "a wrong password is refused: \(errors)")
        try await s.seen(t0 + 200)
        await AssertEqual(try await s.evaluate(t0 + 201), [0, 1])
        errors = await s.deliver(t0 + 202)
        XCTAssertEqual(errors.filter { $0 == nil }.count, 1, "\(errors)")

        let messages = sink.messages
        XCTAssertEqual(messages.count, 2, "one mail opened, one resolved")
        for (i, m) in messages.enumerated() {
            XCTAssertEqual(m.meta["tls"] as? Bool, true)
            XCTAssertEqual(m.meta["login"] as? String, "alerts")
            XCTAssertEqual(m.meta["mail_from"] as? String, "wghub@example.net")
            XCTAssertEqual(m.meta["rcpt_tos"] as? [String], ["ops@example.net", "oncall@example.net"])
            let id = try XCTUnwrap(mailHeader(m.raw, "X-WGHub-Delivery"))
            XCTAssertTrue(id.hasPrefix("dlv_"))
            XCTAssertEqual(mailHeader(m.raw, "Message-ID"), "<\(id)@wghub>")
            XCTAssertEqual(mailHeader(m.raw, "From"), "<wghub@example.net>")
            XCTAssertNotNil(mailHeader(m.raw, "Subject"))
            let body = mailBody(m.raw)
            XCTAssertTrue(body.contains("event: \(i == 0 ? "opened" : "resolved")"), body)
            XCTAssertTrue(body.contains("site: site-a"), body)
            XCTAssertTrue(body.contains("delivery: \(id)"), body)
        }
    }

    func testReceiversThroughTheAdminAPIFormatsAndMetrics() async throws {
        let receiver = WebhookReceiver(secret: "api-secret")
        let port = try await receiver.start()
        defer { Task { await receiver.stop() } }
        let t = try TestHub { $0.alerts = Self.settings() }
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            var ids: [String] = []
            for format in ["slack", "ntfy"] {
                let r = try await client.postJSON("/v1/alerts", ["url": "http://127.0.0.1:\(port)/hook", "format": format, "secret": "api-secret"], bearer: admin)
                XCTAssertEqual(r.status, .created)
                let body = String(buffer: r.body)
                XCTAssertFalse(body.contains("api-secret"), body)
                ids.append(try WGAlertEvent.decoder.decode(WGAlertReceiver.self, from: Data(r.body.readableBytesView)).id)
            }
            var smtp = WGAlertReceiverRequest()
            smtp.smtp = "mail.example.net:587"
            smtp.from = "wghub@example.net"
            smtp.to = ["ops@example.net"]
            smtp.user = "u"
            smtp.password = "mail-secret"
            await AssertEqual(try await client.postJSON("/v1/alerts", smtp, bearer: admin).status, .badRequest, "a password without STARTTLS")
            smtp.starttls = true
            let m = try await client.postJSON("/v1/alerts", smtp, bearer: admin)
            XCTAssertEqual(m.status, .created)
            let smtpID = try WGAlertEvent.decoder.decode(WGAlertReceiver.self, from: Data(m.body.readableBytesView)).id
            await AssertEqual(try await client.postJSON("/v1/alerts", ["url": "ftp://x/"], bearer: admin).status, .badRequest)
            await AssertEqual(try await client.postJSON("/v1/alerts", ["url": "http://127.0.0.1/"], bearer: nil).status, .unauthorized)

            let list = String(buffer: try await client.get("/v1/alerts", bearer: admin).body)
            XCTAssertFalse(list.contains("api-secret") || list.contains("mail-secret"), "secrets are never shown: \(list)")
            XCTAssertTrue(list.contains("\"has_secret\":true"), list)
            await AssertEqual(try await client.execute(uri: "/v1/alerts/\(smtpID)", method: .delete, headers: [.authorization: "Bearer \(admin)"]).status, .ok)
            await AssertEqual(try await client.execute(uri: "/v1/alerts/\(smtpID)", method: .delete, headers: [.authorization: "Bearer \(admin)"]).status, .notFound)
            for id in ids {
                await AssertEqual(try await client.execute(uri: "/v1/alerts/\(id)/test", method: .post, headers: [.authorization: "Bearer \(admin)"]).status, .accepted)
            }
            let metrics = String(buffer: try await client.get("/metrics", bearer: admin).body)
            XCTAssertTrue(metrics.contains("wghub_alert_outbox_pending 2\n"), metrics)
            XCTAssertTrue(metrics.contains("wghub_incidents_open 0\n"), metrics)
        }
        let outcomes = await t.hub.alerts.deliverer.deliverDue(now: Date())
        XCTAssertEqual(outcomes.map(\.error), [nil, nil])
        let hits = receiver.received
        XCTAssertEqual(hits.count, 2)
        XCTAssertTrue(hits.allSatisfy(\.signatureOK))
        let slack = try XCTUnwrap(hits.first { $0.headers["content-type"] == "application/json" })
        XCTAssertEqual(slack.json?.keys.sorted(), ["text"])
        XCTAssertTrue((slack.json?["text"] as? String)?.contains("test notification") == true)
        let ntfy = try XCTUnwrap(hits.first { $0.headers["title"] != nil })
        XCTAssertEqual(ntfy.headers["priority"], "low")
        XCTAssertEqual(ntfy.headers["tags"], "test_tube")
        XCTAssertTrue(String(decoding: ntfy.body, as: UTF8.self).hasPrefix("wghub test notification"))
        XCTAssertEqual(t.hub.metrics.value("wghub_alerts_sent_total", label: "channel", "webhook-slack"), 1)
        let text = await WGMetricsPage.render(hub: t.hub)
        XCTAssertTrue(text.contains("wghub_alerts_sent_total{channel=\"webhook-ntfy\"} 1\n"), text)
        XCTAssertTrue(text.contains("wghub_alert_outbox_pending 0\n"), text)
    }

    func testHTTPSWebhookVerifiesTheReceiverCertificate() async throws {
        let dir = try makeTempDir("https")
        let (cert, key) = try selfSignedCertificate(dir: dir)
        let sink = try PythonSink(script: "webhook_sink.py", dir: dir, args: ["--secret", "tls-secret", "--cert", cert, "--key", key])
        defer { sink.stop() }
        let t = try TestHub { $0.alerts = Self.settings() }
        var trusted = WGAlertReceiver(kind: .webhook)
        trusted.url = "https://127.0.0.1:\(sink.port)/hook"
        trusted.caFile = cert
        let a = try await t.store.addReceiver(trusted, secret: "tls-secret", allowPrivate: true)
        var byName = trusted
        byName.url = "https://localhost:\(sink.port)/hook?x=1"
        let b = try await t.store.addReceiver(byName, secret: "tls-secret", allowPrivate: true)
        var untrusted = trusted
        untrusted.caFile = nil
        let c = try await t.store.addReceiver(untrusted, secret: "tls-secret", allowPrivate: true)
        for r in [a, b, c] { _ = try await t.store.enqueueTest(receiverID: r.id, hub: nil) }
        let outcomes = await t.hub.alerts.deliverer.deliverDue()
        let byReceiver = Dictionary(uniqueKeysWithValues: outcomes.map { ($0.receiverID, $0.error) })
        XCTAssertEqual(byReceiver[a.id], .some(nil), "an IP literal checked against the certificate's IP SAN")
        XCTAssertEqual(byReceiver[b.id], .some(nil), "a name checked against its DNS SAN")
        XCTAssertNotNil(byReceiver[c.id] ?? nil, "a self-signed certificate without its CA file is refused")
        let records = sink.records()
        XCTAssertEqual(records.count, 2)
        XCTAssertTrue(records.allSatisfy { $0["signature_ok"] as? Bool == true }, "Python's hmac agrees: \(records)")
        XCTAssertEqual(Set(records.compactMap { $0["path"] as? String }), ["/hook", "/hook?x=1"])
    }
}
