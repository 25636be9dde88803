import Foundation
import HummingbirdTesting
import WGModel
import XCTest

@testable import WGHub

final class HealthProbeAdminTests: XCTestCase {
    func report(_ seq: Int64, checks: [WGHealthCheck] = []) -> WGHealthReport { healthReport(seq, checks: checks) }
}

func healthReport(_ seq: Int64, checks: [WGHealthCheck] = []) -> WGHealthReport {
        WGHealthReport(
            seq: seq, agentTime: Int64(Date().timeIntervalSince1970), interface: "wg0", listenPort: 51820,
            peers: [WGHealthPeer(publicKey: newPublicKey(), endpoint: "203.0.113.1:51820", latestHandshake: 0, receiveBytes: 1, transmitBytes: 2)],
            forwarding: true, firewall: "active", service: "active", checks: checks)
}

extension HealthProbeAdminTests {

    func testHealthIsIdempotentBySequenceAndRetentionIsBounded() async throws {
        let t = try TestHub { $0.retention = 5 }
        let e = try await t.hub.enroll(enrollBody(token: try t.token()), from: nil)
        try await t.app().test(.router) { client in
            let missing = try await client.postJSON("/v1/health", healthReport(1))
            XCTAssertEqual(missing.status, .unauthorized)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, missing.body).error, "credential_missing")
            let wrong = try await client.postJSON("/v1/health", healthReport(1), bearer: "wgc_notavalidcredential")
            XCTAssertEqual(wrong.status, .unauthorized)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, wrong.body).error, "credential_refused")

            let first = try await client.postJSON("/v1/health", healthReport(1), bearer: e.credential)
            XCTAssertEqual(first.status, .ok)
            XCTAssertEqual(try decodeJSON(WGHealthAck.self, first.body).stored, true)
            let dup = try await client.postJSON("/v1/health", healthReport(1), bearer: e.credential)
            XCTAssertEqual(dup.status, .ok)
            XCTAssertEqual(try decodeJSON(WGHealthAck.self, dup.body), WGHealthAck(seq: 1, stored: false, status: "stale"))
            for seq in 2...12 {
                let r = try await client.postJSON("/v1/health", healthReport(Int64(seq)), bearer: e.credential)
                XCTAssertEqual(r.status, .ok)
            }
            let bad = try await client.postJSON("/v1/health", WGHealthReport(seq: -1, agentTime: 0, interface: "wg0"), bearer: e.credential)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, bad.body).field, "seq")
        }
        let id = e.siteID!
        XCTAssertEqual(try t.store.reportSeqs(siteID: id), [8, 9, 10, 11, 12], "only the newest 5 are kept")
        XCTAssertEqual(t.hub.metrics.value("wghub_health_reports_total"), 12)
        XCTAssertEqual(t.hub.metrics.value("wghub_health_duplicates_total"), 1)
        await AssertEqual(try await t.store.site(id: id)?.lastSeq, 12)
        // An old report arriving late is stored (if in the window) but does not replace the latest.
        _ = try await t.store.recordHealth(siteID: id, report: healthReport(3), body: "{}", observedAddress: nil, retention: 100)
        await AssertEqual(try await t.store.site(id: id)?.lastSeq, 12)
    }

    func testStatusFromHandshakeAndReport() throws {
        let th = WGStatusThresholds(staleAfter: 180, offlineAfter: 600)
        let now = Date(timeIntervalSince1970: 1_000_000)
        let t = Int64(now.timeIntervalSince1970)
        XCTAssertEqual(th.status(latestHandshake: t - 10, lastReport: now.addingTimeInterval(-30), now: now), .online)
        XCTAssertEqual(th.status(latestHandshake: t - 10, lastReport: nil, now: now), .stale)
        XCTAssertEqual(th.status(latestHandshake: t - 300, lastReport: now.addingTimeInterval(-30), now: now), .stale)
        XCTAssertEqual(th.status(latestHandshake: t - 700, lastReport: now.addingTimeInterval(-700), now: now), .offline)
        XCTAssertEqual(th.status(latestHandshake: 0, lastReport: nil, now: now), .offline)
        XCTAssertEqual(th.status(latestHandshake: 0, lastReport: now.addingTimeInterval(-599), now: now), .stale)
    }

    func testAdminAPIAndDelete() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        let token = try t.token(uses: 3)
        let a = try await t.hub.enroll(enrollBody(token: token, hostname: "alpha", lan: ["198.51.100.0/24"]), from: nil)
        let b = try await t.hub.enroll(enrollBody(token: token, hostname: "bravo"), from: nil)
        let bKey = try await t.store.site(id: b.siteID!)!.publicKey
        // bravo is online (fresh handshake and report), alpha never seen: offline, so alpha is listed first.
        t.wg.setLive(bKey, handshake: Int64(Date().timeIntervalSince1970) - 5, rx: 1234, tx: 5678, endpoint: "203.0.113.9:51820")
        _ = try await t.hub.health(healthReport(1), body: "{}", site: try await t.store.site(id: b.siteID!)!, from: "203.0.113.9")
        try await t.app().test(.router) { client in
            await AssertEqual(try await client.get("/v1/sites").status, .unauthorized)
            await AssertEqual(try await client.get("/v1/sites", bearer: "wga_wrongwrongwrong").status, .forbidden)
            await AssertEqual(try await client.get("/v1/sites", bearer: token).status, .forbidden, "an enrollment token is no admin token")
            let list = try await client.get("/v1/sites", bearer: admin)
            XCTAssertEqual(list.status, .ok)
            let views = try JSONDecoder.iso.decode([WGSiteView].self, from: Data(list.body.readableBytesView))
            XCTAssertEqual(views.map(\.hostname), ["alpha", "bravo"])
            XCTAssertEqual(views.map(\.status), [.offline, .online])
            XCTAssertEqual(views[1].receiveBytes, 1234)
            XCTAssertEqual(views[1].endpoint, "203.0.113.9:51820")

            let one = try await client.get("/v1/sites/\(a.siteID!)", bearer: admin)
            XCTAssertEqual(try JSONDecoder.iso.decode(WGSiteView.self, from: Data(one.body.readableBytesView)).address, "192.0.2.2")
            await AssertEqual(try await client.get("/v1/sites/999", bearer: admin).status, .notFound)
            await AssertEqual(try decodeJSON(WGErrorBody.self, try await client.get("/v1/sites/abc", bearer: admin).body).field, "id")

            // alpha's credential in use (so the hub holds it in memory) until the delete.
            await AssertEqual(try await client.postJSON("/v1/health", healthReport(1), bearer: a.credential).status, .ok)
            await AssertEqual(try await client.execute(uri: "/v1/sites/\(a.siteID!)", method: .delete).status, .unauthorized)
            let del = try await client.execute(uri: "/v1/sites/\(a.siteID!)", method: .delete, headers: [.authorization: "Bearer \(admin)"])
            XCTAssertEqual(del.status, .ok)
            await AssertEqual(try await client.get("/v1/sites/\(a.siteID!)", bearer: admin).status, .notFound)
            // The deleted site's credential is dead.
            await AssertEqual(try await client.postJSON("/v1/health", healthReport(1), bearer: a.credential).status, .unauthorized)
        }
        XCTAssertEqual(t.wg.peers.count, 1)
        XCTAssertEqual(t.wg.routes, [], "the deleted site's LAN route is gone")
        XCTAssertTrue(t.wg.calls.contains { $0.hasPrefix("remove ") })
        // The freed address is handed out again.
        let c = try await t.hub.enroll(enrollBody(token: token, hostname: "charlie"), from: nil)
        XCTAssertEqual(c.address, "192.0.2.2/24")
    }

    func testMetricsAndDashboard() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        let token = try t.token(uses: 2)
        let a = try await t.hub.enroll(enrollBody(token: token, hostname: "online-site"), from: nil)
        let b = try await t.hub.enroll(enrollBody(token: token, hostname: "broken-site", lan: ["198.51.100.0/24"]), from: nil)
        let aKey = try await t.store.site(id: a.siteID!)!.publicKey
        t.wg.setLive(aKey, handshake: Int64(Date().timeIntervalSince1970) - 3, rx: 4096, tx: 8192)
        _ = try await t.hub.health(healthReport(1), body: "{}", site: try await t.store.site(id: a.siteID!)!, from: nil)
        let failing = healthReport(1, checks: [WGHealthCheck(name: "forwarding", ok: false, detail: "net.ipv4.ip_forward=0 <b>x</b>"), WGHealthCheck(name: "ufw", ok: true)])
        let body = String(decoding: try JSONEncoder().encode(failing), as: UTF8.self)
        _ = try await t.hub.health(failing, body: body, site: try await t.store.site(id: b.siteID!)!, from: nil)
        try await t.app().test(.router) { client in
            await AssertEqual(try await client.get("/metrics").status, .unauthorized)
            _ = try await client.postJSON("/v1/enroll", enrollBody(token: "wgt_nonexistent_token"))
            let m = String(buffer: try await client.get("/metrics", bearer: admin).body)
            XCTAssertTrue(m.contains("wireguard_peer_last_handshake_seconds{site=\"online-site\""), m)
            XCTAssertTrue(m.contains("wireguard_peer_receive_bytes_total{site=\"online-site\",site_id=\"\(a.siteID!)\",public_key=\"\(aKey)\",address=\"192.0.2.2\"} 4096"), m)
            XCTAssertTrue(m.contains("wireguard_peer_transmit_bytes_total{site=\"online-site\""))
            XCTAssertTrue(m.contains("# TYPE wireguard_peer_receive_bytes_total counter"))
            XCTAssertTrue(m.contains("wghub_enrollments_total 2"), m)
            XCTAssertTrue(m.contains("wghub_refusals_total{reason=\"token_unknown\"} 1"), m)
            XCTAssertTrue(m.contains("wghub_refusals_total{reason=\"admin_token_required\"} 1"), m)
            XCTAssertTrue(m.contains("wghub_http_requests_total{method=\"POST\",route=\"/v1/enroll\",code=\"401\"} 1"), m)
            XCTAssertTrue(m.contains("wghub_site_failing_checks{site=\"broken-site\""))
            XCTAssertFalse(m.contains("wgt_nonexistent_token"), "no secret in metrics")

            // A browser without credentials is sent to sign in (BrowserSessionTests); Basic auth still shows the page.
            let unauth = try await client.get("/")
            XCTAssertEqual(unauth.status, .seeOther)
            XCTAssertEqual(unauth.headers[.location], "/signin?next=%2F")
            let basic = Data("admin:\(admin)".utf8).base64EncodedString()
            let page = try await client.execute(uri: "/", method: .get, headers: [.authorization: "Basic \(basic)"])
            XCTAssertEqual(page.status, .ok)
            let html = String(buffer: page.body)
            XCTAssertFalse(html.contains("<script"), "no JavaScript")
            XCTAssertTrue(html.contains("name=\"viewport\""))
            XCTAssertTrue(html.contains("net.ipv4.ip_forward=0 &lt;b&gt;x&lt;/b&gt;"), "agent text is escaped")
            XCTAssertFalse(html.contains("<b>x</b>"))
            XCTAssertTrue(html.contains("net.ipv4.ip_forward=0"))
            // An announced, ungranted LAN shows as pending, with the way to grant it.
            XCTAssertTrue(html.contains("198.51.100.0/24 — pending: not granted: `wghub site grant \(b.siteID!) 198.51.100.0/24`"), html)
            let worst = try XCTUnwrap(html.range(of: "broken-site")).lowerBound
            let best = try XCTUnwrap(html.range(of: "online-site")).lowerBound
            XCTAssertLessThan(worst, best, "worst first")
        }
    }

    func testProbeSendsNonceAndVerdictIsStored() async throws {
        let t = try TestHub()
        let e = try await t.hub.enroll(enrollBody(token: try t.token()), from: "203.0.113.50")
        try await t.app().test(.router) { client in
            await AssertEqual(try await client.postJSON("/v1/probe", WGProbeRequest(port: 51820)).status, .unauthorized)
            await AssertEqual(try decodeJSON(WGErrorBody.self, try await client.postJSON("/v1/probe", WGProbeRequest(port: 0), bearer: e.credential).body).field, "port")
            let r = try await client.postJSON("/v1/probe", WGProbeRequest(port: 51820), bearer: e.credential)
            XCTAssertEqual(r.status, .accepted)
            let p = try decodeJSON(WGProbeResponse.self, r.body)
            XCTAssertEqual(p.sentTo, "203.0.113.50:51820", "sent to the address the hub observed at enrollment")
            XCTAssertEqual(t.prober.sent.count, 1)
            let sent = t.prober.sent[0]
            XCTAssertEqual(sent.avoid, 51820, "the hub's WireGuard port is avoided as source")
            let (id, nonce) = try XCTUnwrap(WGProbeDatagram.decode(sent.payload))
            XCTAssertEqual(id, p.probeID)

            // A wrong nonce is a mismatch; the probe is then answered and cannot be answered again.
            let second = try decodeJSON(WGProbeResponse.self, try await client.postJSON("/v1/probe", WGProbeRequest(port: 51820), bearer: e.credential).body)
            let (_, nonce2) = try XCTUnwrap(WGProbeDatagram.decode(t.prober.sent[1].payload))
            XCTAssertNotEqual(nonce, nonce2, "nonces are one-time")
            let mismatch = try await client.postJSON("/v1/probe/\(second.probeID)/result", WGProbeResult(nonce: nonce), bearer: e.credential)
            XCTAssertEqual(try decodeJSON(WGProbeVerdict.self, mismatch.body).verdict, "mismatch")

            let ok = try await client.postJSON("/v1/probe/\(p.probeID)/result", WGProbeResult(nonce: nonce), bearer: e.credential)
            XCTAssertEqual(ok.status, .ok)
            XCTAssertEqual(try decodeJSON(WGProbeVerdict.self, ok.body), WGProbeVerdict(probeID: p.probeID, verdict: "open"))
            // An agent verdict outside the known words is refused, naming the field; the probe stays open.
            let badWords = try await client.postJSON("/v1/probe/\(second.probeID)/result", WGProbeResult(nonce: nil, verdict: "probably fine"), bearer: e.credential)
            XCTAssertEqual(badWords.status, .badRequest)
            XCTAssertTrue(String(buffer: badWords.body).contains("verdict"))
            let again = try await client.postJSON("/v1/probe/\(p.probeID)/result", WGProbeResult(nonce: nonce), bearer: e.credential)
            XCTAssertEqual(again.status, .conflict)
            await AssertEqual(try await client.postJSON("/v1/probe/prb_unknown/result", WGProbeResult(nonce: nil), bearer: e.credential).status, .notFound)
        }
        await AssertEqual(try await t.store.site(id: e.siteID!)?.probeVerdict, "open")
        await AssertEqual(try await t.store.site(id: e.siteID!)?.probeDetail, "forwarded")

        // Reporting through the health report works too: nothing seen = closed.
        let p3 = try await t.hub.probe(WGProbeRequest(port: 51820), site: try await t.store.site(id: e.siteID!)!, from: nil)
        _ = try await t.hub.health(
            WGHealthReport(seq: 1, agentTime: 0, interface: "wg0", probeResults: [WGProbeResult(probeID: p3.probeID, nonce: nil, verdict: "not reaching the VM")]),
            body: "{}", site: try await t.store.site(id: e.siteID!)!, from: nil)
        await AssertEqual(try await t.store.site(id: e.siteID!)?.probeVerdict, "closed")
        // The agent's words go to the dashboard, but never a "forwarded" the hub's nonce check contradicts.
        await AssertEqual(try await t.store.site(id: e.siteID!)?.probeDetail, "not reaching the VM")
        let p4 = try await t.hub.probe(WGProbeRequest(port: 51820), site: try await t.store.site(id: e.siteID!)!, from: nil)
        _ = try await t.hub.completeProbe(id: p4.probeID, nonce: nil, agentVerdict: "forwarded", site: try await t.store.site(id: e.siteID!)!)
        await AssertEqual(try await t.store.site(id: e.siteID!)?.probeVerdict, "closed")
        await AssertEqual(try await t.store.site(id: e.siteID!)?.probeDetail, nil)
    }

    func testUDPProbeSenderUsesAnotherSourcePort() throws {
        // A receiver on loopback; the sender must not use the avoided port and the payload must arrive intact.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        sa.sin_port = 0
        _ = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: sa.sin_port))
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

        let payload = WGProbeDatagram.encode(probeID: "prb_test", nonce: "00112233445566778899aabbccddeeff")
        let source = try WGUDPProbeSender().send(payload, host: "127.0.0.1", port: port, avoidPort: port)
        XCTAssertNotEqual(source, port)
        var buf = [UInt8](repeating: 0, count: 600)
        var from = sockaddr_in()
        var flen = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &from) { f in
            f.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &flen) }
        }
        XCTAssertEqual(n, payload.count)
        XCTAssertEqual(Int(UInt16(bigEndian: from.sin_port)), source)
        let decoded = try XCTUnwrap(WGProbeDatagram.decode(buf[0..<max(n, 0)]))
        XCTAssertEqual(decoded.nonce, "00112233445566778899aabbccddeeff")
    }
}

extension JSONDecoder {
    static let iso: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()
}
