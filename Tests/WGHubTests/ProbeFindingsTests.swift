import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import WGModel
import XCTest

@testable import WGHub

/// The loose ends of issue #17's probe, one test each (each failed before its fix): the sign-in redirect, admin
/// lock-out and trusted proxies, the printed enroll line in a shell, text from sites, webhook targets and URLs,
/// link-local LANs, and `0s` durations. The CLI's side is in WGCLITests/ProbeFindingsCLITests.
final class ProbeFindingsTests: XCTestCase {
    // MARK: 1. next= is a same-origin path only

    func testSignInNextAcceptsOnlyASameOriginPath() async throws {
        let hostile = [
            "/\t/evil.example", "/%09/evil.example", "/\\evil.example", "/%5Cevil.example", "//evil.example", "/%2F%2Fevil.example",
            "/%2f/evil.example", "/ /x", "/%20/x", "/%0d%0aSet-Cookie:%20x=1", "/\r\n/x", "/\u{202e}x", "https://evil.example/",
            "/%zz", "evil", "",
        ]
        for next in hostile { XCTAssertEqual(safeNext(next), "/", "refused: \(next.debugDescription)") }
        for next in ["/sites/abc", "/", "/tokens", "/sites/5?x=1", "/sites%2F5"] { XCTAssertEqual(safeNext(next), next) }

        let t = try TestHub()
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            for next in ["/%09/evil.example", "/\t/evil.example", "/\\evil.example", "/%2F%2Fevil.example"] {
                let r = try await post(client, "/signin", ["token": admin, "next": next])
                XCTAssertEqual(r.status, .seeOther)
                XCTAssertEqual(r.headers[.location], "/", "next=\(next.debugDescription)")
            }
            await AssertEqual(try await post(client, "/signin", ["token": admin, "next": "/sites/abc"]).headers[.location], "/sites/abc")
        }
    }

    // MARK: 2. a valid admin token is never locked out; X-Forwarded-For only from a trusted proxy

    func testAValidAdminTokenPassesAfter90BadOnesFromItsAddress() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        let metrics = try t.store.createToken(kind: .admin).secret
        try await t.app().test(.router) { client in
            // Router tests have no client address: every request shares one, as behind a reverse proxy.
            for i in 0..<90 {
                let r = try await client.get("/v1/sites", bearer: "wga_guess\(i)_" + String(repeating: "g", count: 40))
                XCTAssertEqual(r.status, i < 30 ? .forbidden : .tooManyRequests, "guess \(i)")
            }
            await AssertEqual(try await client.get("/v1/sites", bearer: "wga_another_" + String(repeating: "g", count: 40)).status,
                              .tooManyRequests, "wrong tokens are still throttled")
            await AssertEqual(try await client.get("/v1/sites", bearer: admin).status, .ok, "the bearer API")
            await AssertEqual(try await client.get("/metrics", bearer: metrics).status, .ok, "/metrics")
            // The agent download too: past the bearer check (this hub serves no agent: 404), a guess still 429.
            await AssertEqual(try await client.get("/v1/agent", bearer: admin).status, .notFound, "GET /v1/agent")
            await AssertEqual(try await client.get("/v1/agent", bearer: try t.token()).status, .notFound, "with an enrollment token")
            await AssertEqual(try await client.get("/v1/agent", bearer: "wgt_" + String(repeating: "g", count: 43)).status, .tooManyRequests)
            let signIn = try await post(client, "/signin", ["token": admin])
            XCTAssertEqual(signIn.status, .seeOther, "browser sign-in")
            XCTAssertNotNil(signIn.headers[.setCookie])
        }
        let id = try await t.hub.checkAdmin(admin, from: "198.51.100.7")
        for _ in 0..<90 { _ = try? await t.hub.checkAdmin("wga_" + String(repeating: "x", count: 43), from: "198.51.100.7") }
        await AssertEqual(try await t.hub.checkAdmin(admin, from: "198.51.100.7"), id)
    }

    func testForwardedForIsBelievedOnlyFromATrustedProxy() async throws {
        let proxies = [try WGCIDR("192.0.2.0/24"), try WGCIDR("2001:db8::/64")]
        func client(_ peer: String, _ xff: [String]) -> String? { WGClientAddress.resolve(peer: peer, forwardedFor: xff, trusted: proxies) }
        XCTAssertEqual(client("203.0.113.9", ["198.51.100.1"]), "203.0.113.9", "an untrusted peer: the header is ignored")
        XCTAssertEqual(client("192.0.2.5", ["198.51.100.1"]), "198.51.100.1")
        XCTAssertEqual(client("192.0.2.5", ["6.6.6.6, 198.51.100.1, 192.0.2.7"]), "198.51.100.1", "the right-most address not a trusted proxy")
        XCTAssertEqual(client("192.0.2.5", ["6.6.6.6", "198.51.100.1:4711"]), "198.51.100.1", "two header fields; a port")
        XCTAssertEqual(client("2001:db8::5", ["[2001:db8:1::9]:443"]), "2001:db8:1::9")
        XCTAssertEqual(client("192.0.2.5", ["198.51.100.1, garbage"]), "192.0.2.5", "not an address: the proxy itself")
        XCTAssertEqual(client("192.0.2.5", []), "192.0.2.5")
        XCTAssertEqual(WGClientAddress.resolve(peer: "192.0.2.5", forwardedFor: ["198.51.100.1"], trusted: []), "192.0.2.5")

        // Through a real connection from 127.0.0.1: refused tokens are counted against the address the hub believes.
        for trusted in [true, false] {
            let t = try TestHub {
                $0.authFailureLimit = 3
                if trusted { $0.trustedProxies = [try! WGCIDR("127.0.0.0/8")] }
            }
            let app = Application(router: buildRouter(hub: t.hub), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: quietLogger())
            try await app.test(.live) { client in
                for _ in 0..<3 {
                    let r = try await client.execute(uri: "/v1/sites", method: .get, headers: [
                        .authorization: "Bearer wga_" + String(repeating: "x", count: 43),
                        HTTPFields.Element.Name("X-Forwarded-For")!: "192.0.2.200, 198.51.100.77",
                    ])
                    XCTAssertEqual(r.status, .forbidden)
                }
            }
            XCTAssertEqual(t.hub.authLimiter.isLimited("198.51.100.77"), trusted, "trusted \(trusted)")
            XCTAssertEqual(t.hub.authLimiter.isLimited("127.0.0.1"), !trusted, "trusted \(trusted)")
        }
    }

    func testServeTakesTrustedProxiesAndAllowPrivateReceivers() throws {
        var o = WGServeOptions(endpoint: "203.0.113.1:51820", pool: testPool)
        o.dataDirectory = try makeTempDir()
        o.trustedProxies = ["192.0.2.5", "2001:db8::/64"]
        o.allowPrivateReceivers = true
        let (config, _) = try WGHubServer.configuration(o, logger: quietLogger())
        XCTAssertEqual(config.trustedProxies.map(\.description), ["192.0.2.5/32", "2001:db8::/64"])
        XCTAssertTrue(config.alerts.allowPrivateReceivers)
        o.trustedProxies = ["proxy.example.net"]
        XCTAssertThrowsError(try WGHubServer.configuration(o, logger: quietLogger())) { e in
            XCTAssertTrue("\(e)".contains("--trusted-proxy \"proxy.example.net\""), "\(e)")
        }
    }

    // MARK: 3. the printed enroll line, pasted into a shell, runs exactly its argv

    func testTheAPIEnrollLineIsQuotedForAShell() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        let dir = try makeTempDir()
        let vars = [
            "a=$(touch \(dir)/PWNED)", "b=x;touch \(dir)/PWNED", "c=x --hub https://evil.example", "d=it's", "e=`touch \(dir)/PWNED`",
            "f=\"$HOME\" * ~ & | > \(dir)/PWNED", "g=\\",
        ]
        try await t.app().test(.router) { client in
            let r = try await client.postJSON("/v1/tokens", WGTokenRequest(profile: "site-gateway", vars: vars), bearer: admin)
            XCTAssertEqual(r.status, .created, String(buffer: r.body))
            let issued = try decodeJSON(WGIssuedToken.self, r.body)
            XCTAssertEqual(Array(issued.enrollArgv.suffix(vars.count * 2)), vars.flatMap { ["--var", $0] })
            try assertShellRuns(issued.enroll, as: issued.enrollArgv, in: dir)
        }
    }

    // MARK: 4. text a site sends is checked at intake

    func testSiteTextIsCheckedAtIntake() async throws {
        let t = try TestHub()
        func refusedField(_ edit: (inout WGEnrollRequest) -> Void) async throws -> String? {
            var body = enrollBody(token: try t.token())
            edit(&body)
            do { _ = try await t.hub.enroll(body, from: "203.0.113.10"); return nil } catch let e as WGHubError {
                XCTAssertEqual(e.status, 400)
                return e.body.field
            }
        }
        await AssertEqual(try await refusedField { $0.os = "Debian\u{1b}[31m 12" }, "os")
        await AssertEqual(try await refusedField { $0.agentVersion = "0.1.0\r\nincident 1\topen" }, "agent_version")
        await AssertEqual(try await refusedField { $0.machine = String(repeating: "m", count: 60_000) }, "machine")
        await AssertEqual(try await refusedField { $0.machine = "abc\u{7}" }, "machine")
        await AssertEqual(try await refusedField { $0.os = "Debian \u{202e}21" }, "os", "a bidi override")
        await AssertEqual(try await refusedField { $0.hostname = "site\u{1b}a" }, "hostname")

        let e = try await t.hub.enroll(enrollBody(token: try t.token()), from: "203.0.113.10")
        let found = try await t.store.site(credential: e.credential)
        let site = try XCTUnwrap(found)
        func healthField(_ edit: (inout WGHealthReport) -> Void) async throws -> String? {
            var r = WGHealthReport(seq: 1, agentTime: 0, interface: "wg0", checks: [WGHealthCheck(name: "forwarding", ok: true)])
            edit(&r)
            do { _ = try await t.hub.health(r, body: "{}", site: site, from: nil); return nil } catch let e as WGHubError { return e.body.field }
        }
        await AssertEqual(try await healthField { $0.checks[0].name = "forwarding\u{1b}]0;pwned\u{7}" }, "checks[0].name")
        await AssertEqual(try await healthField { $0.checks[0].name = String(repeating: "n", count: 65) }, "checks[0].name")
        await AssertEqual(try await healthField { $0.firewall = "active\nincident 9" }, "firewall")
        await AssertEqual(try await healthField { $0.service = "\u{1b}[2J" }, "service")
        await AssertEqual(try await healthField { $0.machine = String(repeating: "m", count: 257) }, "machine")
        await AssertEqual(try await healthField { $0.interface = "wg\u{0}" }, "interface")

        // A check's detail (it may quote a command's output) is kept, each control character made a space, and cut.
        var report = WGHealthReport(seq: 2, agentTime: 0, interface: "wg0", checks: [
            WGHealthCheck(name: "service", ok: false, detail: "failed\r\nincident 99\topen\u{1b}[2J" + String(repeating: "x", count: 5000)),
        ])
        let raw = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        _ = try await t.hub.health(report, body: raw, site: site, from: nil)
        let sites = try await t.store.allSites()
        let stored = try XCTUnwrap(sites.first?.lastReport?.checks.first?.detail)
        XCTAssertTrue(WGText.isPrintable(stored), stored)
        XCTAssertTrue(stored.hasPrefix("failed  incident 99 open [2J"), stored)
        XCTAssertEqual(stored.count, 1000)
        report.seq = 3
        report.checks[0].detail = "plain"
        _ = try await t.hub.health(report, body: String(decoding: try JSONEncoder().encode(report), as: UTF8.self), site: site, from: nil)
        await AssertEqual(try await t.store.allSites().first?.lastReport?.checks.first?.detail, "plain")
    }

    // MARK: 5. webhook targets, masked URLs, CA files, receivers' answers

    func testWebhookTargetsOnPrivateAddressesAreRefusedUnlessAllowed() async throws {
        let t = try TestHub()
        let admin = try t.admin()
        // An address of this machine's interfaces other than loopback, when it has one.
        let own = WGReceiverTarget.localAddresses().first { !$0.isIPv6 && $0.bytes[0] != 127 }.map { ["http://\($0):8443/"] } ?? []
        let refused = own + [
            "http://127.0.0.1:9/x", "http://127.1.2.3/", "http://[::1]/", "http://localhost:8080/", "http://api.localhost/",
            "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://0.0.0.0:8443/", "http://[::]/",
            "http://224.0.0.1/", "http://[ff02::1]/", "http://255.255.255.255/", "http://[::ffff:127.0.0.1]/",
            "http://192.0.2.1:8443/v1/sites",  // the hub's tunnel address
            "http://hooks.example.net/\u{1b}[2J",
        ]
        try await t.app().test(.router) { client in
            for url in refused {
                let r = try await client.postJSON("/v1/alerts", ["url": url], bearer: admin)
                XCTAssertEqual(r.status, .badRequest, url)
                XCTAssertEqual(try? decodeJSON(WGErrorBody.self, r.body).field, "url", url)
            }
            for url in ["https://hooks.example.net/x", "http://203.0.113.50:8080/hook", "http://[2001:db8::5]/"] {
                await AssertEqual(try await client.postJSON("/v1/alerts", ["url": url], bearer: admin).status, .created, url)
            }
        }
        let allowing = try TestHub { $0.alerts.allowPrivateReceivers = true }
        let admin2 = try allowing.admin()
        try await allowing.app().test(.router) { client in
            let r = try await client.postJSON("/v1/alerts", ["url": "http://127.0.0.1:9/x"], bearer: admin2)
            XCTAssertEqual(r.status, .created, "serve --allow-private-receivers")
            XCTAssertEqual(try WGAlertEvent.decoder.decode(WGAlertReceiver.self, from: Data(r.body.readableBytesView)).allowPrivate, true)
        }
    }

    func testWebhookURLsAreMaskedAndOnlyTheCLINamesACAFile() async throws {
        XCTAssertEqual(WGReceiverTarget.masked("https://user:pass@h.example/x?k=v"), "https://***@h.example/x?k=***")
        XCTAssertEqual(WGReceiverTarget.masked("https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnopqrstuvwx"),
                       "https://hooks.slack.com/services/T0001/B0001/***")
        XCTAssertEqual(WGReceiverTarget.masked("http://203.0.113.5:8080/hook"), "http://203.0.113.5:8080/hook")
        let t = try TestHub()
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            let r = try await client.postJSON("/v1/alerts", ["url": "https://user:hunter2@hooks.example.net/x?token=s3cr3t&k=v"], bearer: admin)
            XCTAssertEqual(r.status, .created)
            let list = try await client.get("/v1/alerts", bearer: admin).body
            for body in [String(buffer: r.body), String(buffer: list)] {
                XCTAssertFalse(body.contains("hunter2") || body.contains("s3cr3t") || body.contains("user:"), body)
            }
            let added = try WGAlertEvent.decoder.decode(WGAlertReceiver.self, from: Data(r.body.readableBytesView))
            let listed = try WGAlertEvent.decoder.decode(WGAlertsAnswer.self, from: Data(list.readableBytesView)).receivers
            XCTAssertEqual(added.url, "https://***@hooks.example.net/x?token=***&k=***")
            XCTAssertEqual(listed.map(\.url), [added.url])
            // Refused before anything looks at the path: the same answer whether the file exists or not.
            var answers: [String] = []
            for path in ["/etc/passwd", "/nonexistent/ca.pem"] {
                let a = try await client.postJSON("/v1/alerts", ["url": "https://hooks.example.net/x", "ca_file": path], bearer: admin)
                XCTAssertEqual(a.status, .badRequest)
                XCTAssertEqual(try decodeJSON(WGErrorBody.self, a.body).field, "ca_file")
                answers.append(String(buffer: a.body))
            }
            XCTAssertEqual(answers[0], answers[1])
        }
        // The stored receiver keeps the full URL: it is what the hub posts to.
        await AssertEqual(try await t.store.receivers().first?.url, "https://user:hunter2@hooks.example.net/x?token=s3cr3t&k=v")
    }

    func testReceiversAnswersAreNotKeptAndPrivateNamesAreCheckedWhenSending() async throws {
        let receiver = WebhookReceiver(secret: nil)
        let port = try await receiver.start()
        defer { Task { await receiver.stop() } }
        receiver.status = 500
        receiver.answerBody = "ami-id: i-0123456789 SECRET-ANSWER"
        let t = try TestHub { $0.alerts = AlertTests.settings() }
        var hook = WGAlertReceiver(kind: .webhook)
        hook.url = "http://127.0.0.1:\(port)/hook"
        let allowed = try await t.store.addReceiver(hook, secret: nil, allowPrivate: true)
        _ = try await t.store.enqueueTest(receiverID: allowed.id, hub: nil)
        let errors = await t.hub.alerts.deliverer.deliverDue().map(\.error)
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0]?.hasPrefix("HTTP 500") == true, "\(errors)")
        XCTAssertFalse(errors[0]?.contains("SECRET") == true, "\(errors)")
        let outbox = try await t.store.deliveries()
        XCTAssertFalse(outbox.contains { $0.lastError?.contains("SECRET") == true }, "\(outbox)")
        XCTAssertEqual(receiver.received.count, 1)

        // A receiver stored without the leave (as an older hub did), on a name that resolves to loopback: refused
        // when sending, by a hub without --allow-private-receivers; nothing reaches it.
        let strict = try TestHub()
        var old = WGAlertReceiver(id: "rcv_old", kind: .webhook)
        old.url = "http://localhost:\(port)/hook"
        let config = String(decoding: try WGAlertEvent.encoder.encode(old), as: UTF8.self)
        try await strict.store.dbPool.write { db in
            try db.execute(sql: "INSERT INTO alert_receivers (id, kind, config, created_at) VALUES ('rcv_old', 'webhook', ?, 0)", arguments: [config])
        }
        _ = try await strict.store.enqueueTest(receiverID: "rcv_old", hub: nil)
        let refused = await strict.hub.alerts.deliverer.deliverDue().map(\.error)
        XCTAssertTrue(refused.first??.contains("refused: localhost is") == true && refused.first??.contains("loopback") == true, "\(refused)")
        XCTAssertEqual(receiver.received.count, 1, "nothing sent")
    }

    // MARK: 6. link-local and multicast LANs are never routed

    func testLinkLocalAndMulticastLANsAreNeverRouted() async throws {
        let t = try TestHub()
        // A token that grants the metadata service's address (stored as an older hub took it).
        let token = try t.token(lan: ["169.254.169.254/32"])
        let e = try await t.hub.enroll(enrollBody(token: token, lan: ["169.254.169.254/32"]), from: "203.0.113.10")
        let view = try await t.hub.view(id: e.siteID!)
        XCTAssertEqual(view.lan.map(\.state), [.refused])
        XCTAssertEqual(view.lan.first?.reason, "link-local (169.254.0.0/16): never routed through the tunnel")
        XCTAssertEqual(t.wg.routes, [])
        XCTAssertEqual(t.wg.peers.values.first, ["192.0.2.2/32"])

        let policy = WGLANPolicy(pool: try WGAddressPool(testPool), shortestPrefix6: 8)
        for p in ["169.254.0.0/16", "224.0.0.0/24", "239.1.2.3/32", "fe80::/64", "ff02::/16"] {
            XCTAssertThrowsError(try policy.checkGrant(p), p) { err in XCTAssertEqual((err as? WGHubError)?.body.field, "lan") }
        }
        XCTAssertEqual(try policy.checkGrant("198.51.100.0/24"), "198.51.100.0/24")
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            let r = try await client.postJSON("/v1/tokens", WGTokenRequest(lan: ["169.254.169.254/32"]), bearer: admin)
            XCTAssertEqual(r.status, .badRequest)
            XCTAssertTrue(String(buffer: r.body).contains("link-local"), String(buffer: r.body))
        }
    }

    // MARK: 7. durations accept 0s

    func testZeroDurationsWhereZeroMeansAtOnce() throws {
        var o = WGServeOptions(endpoint: "203.0.113.1:51820", pool: testPool)
        o.dataDirectory = try makeTempDir()
        for zero in ["0", "0s", "0m", "0h"] {
            o.alertHoldDown = zero
            o.alertGrace = zero
            let (config, _) = try WGHubServer.configuration(o, logger: quietLogger())
            XCTAssertEqual(config.alerts.holdDown, 0, zero)
            XCTAssertEqual(config.alerts.grace, 0, zero)
        }
        o.alertHoldDown = "-1s"
        XCTAssertThrowsError(try WGHubServer.configuration(o, logger: quietLogger()))
        o.alertHoldDown = "0s"
        o.idleTimeout = "0s"
        XCTAssertThrowsError(try WGHubServer.configuration(o, logger: quietLogger()), "a timeout is never 0")
        XCTAssertNil(WGDurations.parse("0s"), "positive by default (TTLs, timeouts)")
    }
}

/// Runs `line` (an enroll line as printed) in /bin/sh with its leading `wgagent` replaced by a script that prints
/// its arguments one per line, and checks that they are `argv` exactly and that nothing else happened in `dir`.
func assertShellRuns(_ line: String, as argv: [String], in dir: String, file: StaticString = #filePath, lineNo: UInt = #line) throws {
    XCTAssertTrue(line.hasPrefix("wgagent "), line, file: file, line: lineNo)
    let script = dir + "/print-args"
    try "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n".write(toFile: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script + line.dropFirst("wgagent".count)]
    p.currentDirectoryURL = URL(fileURLWithPath: dir)
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    XCTAssertEqual(p.terminationStatus, 0, file: file, line: lineNo)
    XCTAssertEqual(String(decoding: data, as: UTF8.self), argv.dropFirst().map { $0 + "\n" }.joined(), file: file, line: lineNo)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["print-args"], "no side effect", file: file, line: lineNo)
}
