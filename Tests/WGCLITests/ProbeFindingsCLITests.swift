import Foundation
import WGModel
import XCTest

@testable import WGHub

/// Issue #17's probe findings as the operator's terminal sees them: the enroll line `wghub token create` prints,
/// the lists that show text from sites and receivers, and `wghub alert add`'s targets and URLs.
final class ProbeFindingsCLITests: XCTestCase {
    func testTokenCreatePrintsALineAShellRunsAsItsArgvOnly() async throws {
        let dir = try makeTempDir()
        let marker = dir + "/PWNED"
        let vars = ["a=$(touch \(marker))", "b=x;touch \(marker)", "c=x --hub https://evil.example", "d=it's", "e=`touch \(marker)`"]
        let r = await wghub(["token", "create", "--data", dir, "--hub", "https://hub.example.net:8443"] + vars.flatMap { ["--var", $0] })
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let secret = lines[1], printed = lines[3].dropFirst(2)
        let argv = ["enroll", "--hub", "https://hub.example.net:8443", "--token", secret] + vars.flatMap { ["--var", $0] }
        XCTAssertTrue(printed.hasPrefix("wgagent enroll --hub https://hub.example.net:8443 --token \(secret) --var 'a=$(touch "), String(printed))
        // Pasted into sh with `wgagent` as printf: one argument a line, exactly the argv, and no file made.
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", "printf '%s\\n'" + printed.dropFirst("wgagent".count)]
        let out = Pipe()
        sh.standardOutput = out
        try sh.run()
        let got = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sh.waitUntilExit()
        XCTAssertEqual(got, argv.map { $0 + "\n" }.joined())
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "an injected command ran")
    }

    func testListsEscapeControlCharactersFromTheStore() async throws {
        let dir = try makeTempDir()
        // A token name may hold a C1 control (CSI, U+009B): `token list` shows it escaped.
        let created = await wghub(["token", "create", "--data", dir, "--name", "ops\u{9b}2Jx"])
        XCTAssertEqual(created.status, 0, created.stderr)
        let tokens = await wghub(["token", "list", "--data", dir])
        XCTAssertTrue(tokens.stdout.contains("\tops\\x9b2Jx\n"), tokens.stdout)

        // An incident and an outbox error with escape sequences and CR/LF (as stored by an older hub).
        let store = try WGHubStore.open(dataDirectory: dir)
        var hook = WGAlertReceiver(kind: .webhook)
        hook.url = "https://hooks.example.net/x"
        let receiver = try await store.addReceiver(hook, secret: nil)
        let forged = "down\u{1b}[2J\r\nincident 99\topen\tforged"
        var settings = WGAlertSettings()
        settings.grace = 0
        _ = try await store.applyProblems([WGAlertProblem(siteID: 1, hostname: "site-a", address: nil, kind: "offline", detail: forged, since: Date())],
                                          settings: settings, hub: nil)
        let deliveries = try await store.deliveries()
        let delivery = try XCTUnwrap(deliveries.first { $0.receiverID == receiver.id })
        try await store.markFailed(delivery.deliveryID, error: "HTTP 500: \u{1b}]0;owned\u{7}\r\nincident 98", retryIn: 60, giveUp: false)
        let list = await wghub(["alert", "list", "--data", dir])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertFalse(list.stdout.unicodeScalars.contains { $0 == "\u{1b}" || $0 == "\r" || $0 == "\u{7}" }, list.stdout)
        XCTAssertTrue(list.stdout.contains("\tdown\\x1b[2J\\r\\nincident 99\\topen\\tforged\n"), list.stdout)
        XCTAssertTrue(list.stdout.contains("\tHTTP 500: \\x1b]0;owned\\x07\\r\\nincident 98\n"), list.stdout)
        XCTAssertEqual(list.stdout.split(separator: "\n").filter { $0.hasPrefix("incident ") }.count, 1, "no forged line")
    }

    func testAlertAddRefusesPrivateTargetsAndShowsURLsMasked() async throws {
        let dir = try makeTempDir()
        for url in ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/hook", "http://0.0.0.0/", "http://[::1]/", "http://localhost/"] {
            let r = await wghub(["alert", "add", "--data", dir, "--webhook", url])
            XCTAssertNotEqual(r.status, 0, url)
            XCTAssertTrue(r.stderr.contains("--allow-private-receivers"), r.stderr)
        }
        let allowed = await wghub(["alert", "add", "--data", dir, "--allow-private-receivers", "--webhook", "http://127.0.0.1:9/hook"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        XCTAssertTrue(allowed.stdout.contains("(private target allowed)"), allowed.stdout)

        let secretURL = "https://alice:hunter2@hooks.example.net/hook?token=s3cr3t"
        let added = await wghub(["alert", "add", "--data", dir, "--webhook", secretURL])
        XCTAssertEqual(added.status, 0, added.stderr)
        let list = await wghub(["alert", "list", "--data", dir])
        for out in [added.stdout, list.stdout] {
            XCTAssertTrue(out.contains("webhook generic https://***@hooks.example.net/hook?token=***"), out)
            XCTAssertFalse(out.contains("hunter2") || out.contains("s3cr3t") || out.contains("alice"), out)
        }
    }
}
