import Foundation
import WGAgent
import WGModel
import XCTest

@testable import WGHub

/// The real `wghub` binary: CLI, first start, restart, kill -9.
final class ProcessLevelTests: XCTestCase {
    func startServe(_ bin: String, dir: String, extra: [String] = []) throws -> (Child, String, String) {
        let hubKey = WGKey.generatePrivate().publicKey.base64
        let child = try Child([
            bin, "serve", "--listen", "127.0.0.1:0", "--data", dir, "--endpoint", "203.0.113.1:51820",
            "--pool", "192.0.2.0/24", "--no-interface", "--hub-public-key", hubKey, "--log-level", "warning",
        ] + extra)
        let url = try child.waitForLine(startingWith: "wghub listening on ")
        let pin = try child.waitForLine(startingWith: "pin ")
        return (child, url, pin)
    }

    func testCLIFirstStartTokensAndKill9DuringEnrollments() async throws {
        guard let bin = wghubBinary else {
            try requireEnvironment(false, "the wghub binary is not built next to the tests (swift build first)")
            return
        }
        let dir = try makeTempDir()
        var (server, url, pin) = try startServe(bin, dir: dir)
        defer { server.stop() }
        XCTAssertTrue(url.hasPrefix("https://127.0.0.1:"))
        XCTAssertTrue(pin.hasPrefix("sha256//"))
        XCTAssertEqual(pin, try WGTLSIdentity.pin(certificatePath: dir + "/hub-cert.pem"))
        for f in ["hub-cert.pem", "hub-key.pem", "wghub.sqlite", "wghub.sqlite-wal", "wghub.sqlite-shm"] {
            let mode = (try FileManager.default.attributesOfItem(atPath: dir + "/" + f)[.posixPermissions] as? NSNumber)?.intValue
            XCTAssertEqual(mode, 0o600, f)
        }

        // token create prints the token and the line to paste.
        let created = try runCommand([bin, "token", "create", "--data", dir, "--uses", "1000", "--ttl", "1h", "--name", "gw1", "--profile", "site-gateway"]).out
        let lines = created.split(separator: "\n").map(String.init)
        let token = lines[1]
        XCTAssertTrue(token.hasPrefix("wgt_"), created)
        let enrollLine = try XCTUnwrap(lines.first { $0.contains("wgagent enroll") })
        XCTAssertTrue(enrollLine.contains("--token \(token)"))
        XCTAssertTrue(enrollLine.contains("--pin \(pin)"), enrollLine)
        XCTAssertTrue(enrollLine.contains("--profile site-gateway"))
        let listed = try runCommand([bin, "token", "list", "--data", dir]).out
        XCTAssertTrue(listed.contains("valid") && listed.contains("0/1000") && listed.contains("gw1"), listed)
        XCTAssertFalse(listed.contains(token), "list never shows secrets")

        // Enroll from 6 threads; kill -9 the server in the middle.
        let client = try WGHTTPClient(baseURL: url, verification: .pin(pin), connectTimeout: 2, timeout: 5)
        let results = ResultsBox()
        let stopFlag = ResultsBox()
        let group = DispatchGroup()
        for w in 0..<6 {
            DispatchQueue.global().async(group: group) {
                for i in 0..<200 where !stopFlag.stopped {
                    let key = newPublicKey()
                    do {
                        let r: WGEnrollResponse = try client.post("/v1/enroll", enrollBody(token: token, key: key, hostname: "w\(w)-\(i)"))
                        results.add(key, r.address)
                    } catch {
                        results.fail()
                        if results.failures > 3 { return }
                    }
                }
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while results.count < 40 && Date() < deadline { usleep(5_000) }
        server.signal(SIGKILL)
        server.process.waitUntilExit()
        stopFlag.stop()
        _ = group.wait(timeout: .now() + 60)
        XCTAssertGreaterThanOrEqual(results.count, 40, "enrollments were running when the server was killed")

        // Restart on the same folder: same pin, every acknowledged enrollment is there, no address twice.
        (server, url, pin) = try startServe(bin, dir: dir)
        XCTAssertEqual(pin, try WGTLSIdentity.pin(certificatePath: dir + "/hub-cert.pem"), "same key after restart")
        let store = try WGHubStore.open(dataDirectory: dir)
        let sites = try await store.allSites()
        let byKey = Dictionary(uniqueKeysWithValues: sites.map { ($0.publicKey, $0.address) })
        for (key, address) in results.acknowledged {
            XCTAssertEqual(byKey[key].map { "\($0)/24" }, address, "acknowledged enrollment survived kill -9")
        }
        XCTAssertEqual(Set(sites.map(\.address)).count, sites.count, "no duplicate address")
        let dupes = try await store.dbPool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT address FROM sites GROUP BY address HAVING COUNT(*) > 1)")
        }
        XCTAssertEqual(dupes, 0)
        let integrity = try await store.dbPool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
        XCTAssertEqual(integrity, "ok")
        let uses = try store.tokens().first { $0.kind == .enroll }?.uses
        XCTAssertEqual(uses, sites.count, "each stored site used the token once; no use without a site")

        // And it goes on allocating after the restart.
        let client2 = try WGHTTPClient(baseURL: url, verification: .pin(pin))
        let after: WGEnrollResponse = try await blocking { try client2.post("/v1/enroll", enrollBody(token: token)) }
        XCTAssertFalse(byKey.values.contains(String(after.address.dropLast(3))))

        // Revoke through the CLI while the server runs: the next enrollment is refused.
        let id = try XCTUnwrap(try store.tokens().first { $0.kind == .enroll }?.id)
        XCTAssertTrue(try runCommand([bin, "token", "revoke", id, "--data", dir]).out.contains("revoked"))
        let refused = await blockingError { try client2.post("/v1/enroll", enrollBody(token: token), as: WGEnrollResponse.self) }
        XCTAssertEqual(refused?.hubStatus, 403)

        // Admin token from the CLI works on the admin API.
        let adminOut = try runCommand([bin, "admin-token", "create", "--data", dir, "--name", "ops"]).out
        let admin = try XCTUnwrap(adminOut.split(separator: "\n").map(String.init).first { $0.hasPrefix("wga_") })
        let list: [WGSiteView] = try await blocking {
            let r = try client2.send(method: "GET", path: "/v1/sites", body: nil, bearer: admin)
            XCTAssertEqual(r.status, 200)
            return try JSONDecoder.iso.decode([WGSiteView].self, from: r.body)
        }
        XCTAssertEqual(list.count, sites.count + 1)
        server.stop()
    }

    func testServeRefusesBadArguments() throws {
        guard let bin = wghubBinary else {
            try requireEnvironment(false, "the wghub binary is not built next to the tests")
            return
        }
        let dir = try makeTempDir()
        let bad = try runCommand([bin, "serve", "--data", dir, "--endpoint", "203.0.113.1:51820", "--pool", "192.0.2.1/24",
                           "--no-interface", "--hub-public-key", newPublicKey(), "--listen", "127.0.0.1:0"], timeout: 30, check: false)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("192.0.2.0/24"), bad.err)
        let noKey = try runCommand([bin, "serve", "--data", dir, "--endpoint", "203.0.113.1:51820", "--pool", "192.0.2.0/24",
                             "--no-interface", "--listen", "127.0.0.1:0"], timeout: 30, check: false)
        XCTAssertNotEqual(noKey.status, 0)
        XCTAssertTrue(noKey.err.contains("--hub-public-key"), noKey.err)
        let noIface = try runCommand([bin, "serve", "--data", dir, "--endpoint", "203.0.113.1:51820", "--pool", "192.0.2.0/24",
                               "--interface", "wgnope\(getpid() % 1000)", "--listen", "127.0.0.1:0"], timeout: 30, check: false)
        XCTAssertNotEqual(noIface.status, 0)
        XCTAssertTrue(noIface.err.contains("wgagent apply --profile hub"), noIface.err)
    }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var ok: [(String, String)] = []
    private var failed = 0
    private var stopFlag = false
    func add(_ k: String, _ a: String) { lock.withLock { ok.append((k, a)) } }
    func fail() { lock.withLock { failed += 1 } }
    func stop() { lock.withLock { stopFlag = true } }
    var stopped: Bool { lock.withLock { stopFlag } }
    var count: Int { lock.withLock { ok.count } }
    var failures: Int { lock.withLock { failed } }
    var acknowledged: [(String, String)] { lock.withLock { ok } }
}
