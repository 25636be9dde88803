import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import WGModel
import WGProvision
import XCTest
import WGProcess
import Yams

@testable import WGHub

/// The hub hands out the agent (`GET /v1/agent`, `/v1/agent/{arch}`) and `token create --cloud-init` prints
/// user-data whose bootstrap script fetches, checks, installs and enrolls. The "agent" here is a copy of
/// /bin/echo: a real ELF of this machine, which prints the enroll argv it is given.
final class AgentDeliveryTests: XCTestCase {
    /// A copy of /bin/echo in `dir`, its bytes and SHA-256 (hex).
    func fakeAgent(in dir: String) throws -> (path: String, data: Data, sha: String) {
        let path = dir + "/wgagent-src"
        let data = try Data(contentsOf: URL(fileURLWithPath: "/bin/echo"))
        try data.write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return (path, data, SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined())
    }

    func hubWithAgent() async throws -> (TestHub, (path: String, data: Data, sha: String)) {
        let dir = try makeTempDir()
        let agent = try fakeAgent(in: dir)
        let bundle = await WGAgentBundle.load(files: [agent.path])
        XCTAssertEqual(bundle.problems, [])
        return (try TestHub(dir: dir, agent: bundle), agent)
    }

    func testAgentIsDescribedAndServedOnlyToAUsableTokenACredentialOrTheAdmin() async throws {
        let (t, agent) = try await hubWithAgent()
        let arch = try XCTUnwrap(WGAgentBundle.hostArch)
        let token = try t.token(uses: 1)
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            // Nobody: 401 with the hub's error body; a guess: 403. Neither learns anything about the binary.
            let anon = try await client.get("/v1/agent/\(arch)")
            XCTAssertEqual(anon.status, .unauthorized)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, anon.body).error, "agent_auth_required")
            XCTAssertEqual(anon.headers[.wwwAuthenticate], "Bearer realm=\"wghub\"")
            for guess in ["wgt_" + String(repeating: "A", count: 43), "wgc_nope-nope-nope", "wga_nope-nope-nope", "hello-world"] {
                let r = try await client.get("/v1/agent", bearer: guess)
                XCTAssertEqual(r.status, .forbidden, guess)
                XCTAssertEqual(try decodeJSON(WGErrorBody.self, r.body).error, "agent_auth_refused")
            }

            // A usable enrollment token: the description, then the bytes; no use is spent.
            let info = try decodeJSON(WGAgentInfo.self, try await client.get("/v1/agent", bearer: token).body)
            let b = try XCTUnwrap(info.architectures[arch])
            XCTAssertEqual(b.sha256, agent.sha)
            XCTAssertEqual(b.size, agent.data.count)
            XCTAssertEqual(b.path, "/v1/agent/\(arch)")
            XCTAssertEqual(info.hubVersion, WGModelVersion.agentVersion)
            XCTAssertNotEqual(info.version, "unknown", "read from `--version` of a binary of this machine")
            let download = try await client.get(b.path, bearer: token)
            XCTAssertEqual(download.status, .ok)
            XCTAssertEqual(Data(download.body.readableBytesView), agent.data)
            XCTAssertEqual(download.headers[.contentType], "application/octet-stream")
            XCTAssertEqual(download.headers[.contentLength], "\(agent.data.count)")
            XCTAssertEqual(download.headers[agentChecksumHeader], agent.sha)
            XCTAssertEqual(try t.store.tokens().first(where: { $0.kind == .enroll })?.uses, 0, "fetching the agent spends no use")

            // The token still enrolls; its site's credential may fetch the agent, the used-up token no longer.
            let enrolled = try decodeJSON(WGEnrollResponse.self, try await client.postJSON("/v1/enroll", enrollBody(token: token)).body)
            await AssertEqual(try await client.get(b.path, bearer: enrolled.credential).status, .ok)
            let usedUp = try await client.get(b.path, bearer: token)
            XCTAssertEqual(usedUp.status, .forbidden)
            await AssertEqual(try await client.get(b.path, bearer: admin).status, .ok)

            let unknown = try await client.get("/v1/agent/sparc64", bearer: admin)
            XCTAssertEqual(unknown.status, .notFound)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, unknown.body).error, "agent_arch_unknown")

            let metrics = String(buffer: try await client.get("/metrics", bearer: admin).body)
            XCTAssertTrue(metrics.contains("\nwghub_agent_downloads_total 3\n"), metrics)
            XCTAssertTrue(metrics.contains("wghub_refusals_total{reason=\"agent_auth_required\"} 1\n"), metrics)
            XCTAssertTrue(metrics.contains("wghub_refusals_total{reason=\"agent_auth_refused\"} 5\n"), metrics)
            XCTAssertTrue(metrics.contains("route=\"/v1/agent/{arch}\",code=\"200\"} 3"), metrics)

            let dashboard = String(buffer: try await client.get("/", bearer: admin).body)
            XCTAssertTrue(dashboard.contains("\(arch) sha256 \(agent.sha.prefix(12))…"), "the dashboard names the agent")
        }
    }

    func testDownloadsPerAddressAreLimited() async throws {
        let dir = try makeTempDir()
        let agent = try fakeAgent(in: dir)
        let t = try TestHub(dir: dir, agent: await WGAgentBundle.load(files: [agent.path])) { $0.agentDownloadLimit = 2 }
        let token = try t.token()
        let arch = try XCTUnwrap(WGAgentBundle.hostArch)
        try await t.app().test(.router) { client in
            await AssertEqual(try await client.get("/v1/agent/\(arch)", bearer: token).status, .ok)
            await AssertEqual(try await client.get("/v1/agent/\(arch)", bearer: token).status, .ok)
            let third = try await client.get("/v1/agent/\(arch)", bearer: token)
            XCTAssertEqual(third.status, .tooManyRequests)
            XCTAssertEqual(try decodeJSON(WGErrorBody.self, third.body).error, "agent_download_rate_limited")
            await AssertEqual(try await client.get("/v1/agent", bearer: token).status, .ok, "the description is not limited")
        }
    }

    func testWithoutABinaryServeStillAnswersAnd404NamesTheFlag() async throws {
        let dir = try makeTempDir()
        let missing = await WGAgentBundle.load(files: [dir + "/no-such-wgagent"])
        XCTAssertNil(missing.info)
        XCTAssertEqual(missing.problems.count, 1)
        XCTAssertEqual(missing.problems, ["\(dir)/no-such-wgagent: no such file"])
        try Data("#!/bin/sh\necho not elf\n".utf8).write(to: URL(fileURLWithPath: dir + "/script"))
        let notELF = await WGAgentBundle.load(files: [dir + "/script"])
        XCTAssertTrue(notELF.problems.first?.contains("not an ELF executable") == true, "\(notELF.problems)")

        let t = try TestHub(dir: dir, agent: missing)
        let admin = try t.admin()
        try await t.app().test(.router) { client in
            for path in ["/v1/agent", "/v1/agent/x86_64"] {
                let r = try await client.get(path, bearer: admin)
                XCTAssertEqual(r.status, .notFound)
                let body = try decodeJSON(WGErrorBody.self, r.body)
                XCTAssertEqual(body.error, "agent_missing")
                XCTAssertTrue(body.message.contains("--agent-binary FILE"), body.message)
            }
            await AssertEqual(try await client.get("/v1/agent").status, .unauthorized, "still gated: nothing said to anyone")
            await AssertEqual(try await client.get("/v1/sites", bearer: admin).status, .ok)
        }
    }

    func testTheDefaultAgentIsTheOneBesideWghub() throws {
        let dir = try makeTempDir()
        XCTAssertEqual(WGAgentBundle.candidates(given: ["/a/wgagent", "/b/wgagent"], executable: dir + "/wghub"), ["/a/wgagent", "/b/wgagent"])
        XCTAssertEqual(WGAgentBundle.candidates(given: [], executable: dir + "/wghub").count, 1)
        try Data().write(to: URL(fileURLWithPath: dir + "/wgagent"))
        XCTAssertEqual(WGAgentBundle.candidates(given: [], executable: dir + "/wghub"), [dir + "/wgagent"])
    }

    func testELFArchitectureFromTheHeader() throws {
        var header = [UInt8](repeating: 0, count: 64)
        header[0...5] = [0x7f, 0x45, 0x4c, 0x46, 2, 1]
        header[18] = 183
        XCTAssertEqual(try WGAgentBundle.elfArchitecture(Data(header)), "aarch64")
        header[18] = 62
        XCTAssertEqual(try WGAgentBundle.elfArchitecture(Data(header)), "x86_64")
        header[18] = 40  // 32-bit ARM
        XCTAssertThrowsError(try WGAgentBundle.elfArchitecture(Data(header)))
        header[18] = 62; header[4] = 1  // 32-bit
        XCTAssertThrowsError(try WGAgentBundle.elfArchitecture(Data(header)))
        XCTAssertThrowsError(try WGAgentBundle.elfArchitecture(Data([0x7f, 0x45])))
    }

    /// curl, as the bootstrap runs it, over a real TLS socket: the pinned key, the bearer from its standard input.
    func testCurlWithThePinDownloadsTheBinaryOverTLS() async throws {
        let (t, agent) = try await hubWithAgent()
        let token = try t.token()
        let arch = try XCTUnwrap(WGAgentBundle.hostArch)
        try await withLiveHub(t) { base, tls in
            let pin = try XCTUnwrap(tls?.pin)
            let out = t.dir + "/downloaded"
            let ok = try await blocking {
                try runProcess(["/usr/bin/curl", "--config", "-", "--silent", "--show-error", "--fail", "--insecure", "--pinnedpubkey", pin,
                                "--output", out, "\(base)/v1/agent/\(arch)"],
                               stdin: "header = \"Authorization: Bearer \(token)\"\n")
            }
            XCTAssertEqual(ok.status, 0, ok.stderr)
            let got = try Data(contentsOf: URL(fileURLWithPath: out))
            XCTAssertEqual(SHA256.hash(data: got).map { String(format: "%02x", $0) }.joined(), agent.sha)
            let wrongPin = "sha256//" + Data(repeating: 7, count: 32).base64EncodedString()
            let refused = try await blocking {
                try runProcess(["/usr/bin/curl", "--config", "-", "--silent", "--insecure", "--pinnedpubkey", wrongPin,
                                "--output", t.dir + "/never", "\(base)/v1/agent/\(arch)"],
                               stdin: "header = \"Authorization: Bearer \(token)\"\n")
            }
            XCTAssertEqual(refused.status, 90, "curl: the public key does not match the pin")
            XCTAssertFalse(FileManager.default.fileExists(atPath: t.dir + "/never"))
        }
    }

    // MARK: user-data

    /// A store as `serve` leaves it: URL, pin and the agent recorded in meta.
    func recordedStore(agentSHA: String = String(repeating: "ab", count: 32)) throws -> (WGHubStore, String) {
        let dir = try makeTempDir()
        let store = try WGHubStore.open(dataDirectory: dir)
        try store.setMeta("public_url", "https://203.0.113.1:8443")
        try store.setMeta("pin", "sha256//P/dzMwe+Rw0EIfUvGIuWt/NF3Fx9e5YWu4odwMpgMQ4=")
        let info = WGAgentInfo(version: "0.1.0", hubVersion: "0.1.0", architectures: [
            "x86_64": .init(arch: "x86_64", size: 10, sha256: agentSHA, version: "0.1.0", path: "/v1/agent/x86_64"),
            "aarch64": .init(arch: "aarch64", size: 11, sha256: String(repeating: "cd", count: 32), version: nil, path: "/v1/agent/aarch64"),
        ])
        try store.setMeta(WGAgentInfo.metaKey, info.metaText)
        return (store, dir)
    }

    func testUserDataForAStockImageParsesAndHasTheExpectedShape() throws {
        let (store, dir) = try recordedStore()
        let made = try WGEnrollInstructions.issue(store: store, dataDirectory: dir, name: "site-a\n# x: y", profile: "site-gateway",
                                                  ttl: 3600, uses: 1, lanGrants: [])
        XCTAssertTrue(made.summary.contains("agent 0.1.0 (aarch64 sha256 cdcdcdcdcdcd…, x86_64 sha256 abababababab…)"), made.summary)
        let text = try made.userData(agentPresent: false)
        XCTAssertTrue(text.hasPrefix("#cloud-config\n"))
        let doc = try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any])
        XCTAssertEqual(Set(doc.keys), ["write_files", "runcmd"], "a label with a line break stays in its comment")
        let files = try XCTUnwrap(doc["write_files"] as? [[String: Any]])
        XCTAssertEqual(files.count, 1)
        XCTAssertEqual(files[0]["path"] as? String, "/usr/local/sbin/wgagent-bootstrap")
        XCTAssertEqual(files[0]["owner"] as? String, "root:root")
        XCTAssertEqual(files[0]["permissions"] as? String, "0700", "a string: YAML would read 0700 as a number")
        let script = try XCTUnwrap(files[0]["content"] as? String)
        XCTAssertEqual(script, try WGEnrollInstructions.bootstrapScript(), "the script arrives exactly as rendered")
        XCTAssertFalse(script.contains(made.token), "no token in the script's file")
        XCTAssertFalse(script.contains("203.0.113.1"), "fixed text: no value from input")
        let runcmd = try XCTUnwrap(doc["runcmd"] as? [[String]])
        XCTAssertEqual(runcmd, [[
            "env", "WGAGENT_TOKEN=\(made.token)", "/usr/local/sbin/wgagent-bootstrap", "https://203.0.113.1:8443",
            "sha256//P/dzMwe+Rw0EIfUvGIuWt/NF3Fx9e5YWu4odwMpgMQ4=",
            "aarch64=" + String(repeating: "cd", count: 32), "x86_64=" + String(repeating: "ab", count: 32),
            "--", "--profile", "site-gateway",
        ]], "one item, argv: fetch, check, install and enroll fail as a whole")

        // The image that carries the agent: runcmd only, the enroll argv.
        let present = try XCTUnwrap(try Yams.load(yaml: try made.userData(agentPresent: true)) as? [String: Any])
        XCTAssertEqual(present["runcmd"] as? [[String]], [made.enrollArgv(executable: "/usr/local/bin/wgagent")])
        XCTAssertNil(present["write_files"])

        // Extra profile values (`token create --var`) reach enroll in both forms, as argv.
        var withVars = made
        withVars.vars = ["report_interval=30", "lan_access=route"]
        XCTAssertEqual(Array(try withVars.bootstrapArgv().suffix(7)),
                       ["--", "--profile", "site-gateway", "--var", "report_interval=30", "--var", "lan_access=route"])
        XCTAssertEqual(Array(withVars.enrollArgv().suffix(4)), ["--var", "report_interval=30", "--var", "lan_access=route"])
        XCTAssertNil(WGEnrollInstructions.checkVar("lan_access=route"))
        for bad in ["lan_access", "=x", "Lan=x", "a b=c", "x=1\n#cloud-config"] {
            XCTAssertNotNil(WGEnrollInstructions.checkVar(bad), bad)
        }
    }

    func testNoBootstrapUserDataWithoutAnAgentOrAPin() throws {
        let dir = try makeTempDir()
        let store = try WGHubStore.open(dataDirectory: dir)
        try store.setMeta("public_url", "https://203.0.113.1:8443")
        try store.setMeta("pin", "sha256//P/dzMwe+Rw0EIfUvGIuWt/NF3Fx9e5YWu4odwMpgMQ4=")
        try store.setMeta(WGAgentInfo.metaKey, "")
        XCTAssertThrowsError(try WGEnrollInstructions.checkBootstrap(store: store, dataDirectory: dir)) {
            XCTAssertTrue("\($0)".contains("--agent-binary FILE") && "\($0)".contains("--agent-present"), "\($0)")
        }
        let (withAgent, dir2) = try recordedStore()
        try withAgent.setMeta("pin", "")
        try withAgent.setMeta("public_url", "http://203.0.113.1:8443")
        XCTAssertThrowsError(try WGEnrollInstructions.checkBootstrap(store: withAgent, dataDirectory: dir2)) {
            XCTAssertTrue("\($0)".contains("--insecure-http"), "\($0)")
        }
        let made = try WGEnrollInstructions.issue(store: withAgent, dataDirectory: dir2, name: nil, profile: nil, ttl: 60, uses: 1, lanGrants: [])
        XCTAssertTrue(made.enrollArgv().contains("--allow-insecure-http"))
    }

    // MARK: the bootstrap script, run for real against a hub on 127.0.0.1

    struct Bootstrap {
        let script: String
        let dest: String
    }

    func writeBootstrap(in dir: String) throws -> Bootstrap {
        let script = dir + "/wgagent-bootstrap"
        try WGEnrollInstructions.bootstrapScript().write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: script)
        return Bootstrap(script: script, dest: dir + "/bin/wgagent")
    }

    func runBootstrap(_ b: Bootstrap, dest: String? = nil, _ args: [String], token: String, timeout: Int = 20) async throws -> ProcessResult {
        try await blocking {
            try runProcess(["/bin/sh", b.script] + args, environment: [
                "WGAGENT_TOKEN": token, "WGAGENT_BOOTSTRAP_DEST": dest ?? b.dest,
                "WGAGENT_BOOTSTRAP_TIMEOUT": "\(timeout)", "WGAGENT_BOOTSTRAP_RETRY_DELAY": "1",
            ])
        }
    }

    func testBootstrapDownloadsVerifiesInstallsAndEnrolls() async throws {
        let (t, agent) = try await hubWithAgent()
        let token = try t.token()
        let arch = try XCTUnwrap(WGAgentBundle.hostArch)
        let b = try writeBootstrap(in: t.dir)
        try await withLiveHub(t) { base, tls in
            let pin = try XCTUnwrap(tls?.pin)
            let r = try await runBootstrap(b, [base, pin, "\(arch)=\(agent.sha)", "--", "--profile", "site-gateway"], token: token)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: b.dest)), agent.data)
            let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: b.dest)[.posixPermissions] as? NSNumber)
            XCTAssertEqual(mode.intValue & 0o7777, 0o755)
            // The installed "agent" is echo: it prints the enroll argv it was run with.
            // The token is not on enroll's command line (ps shows that): it goes in enroll's environment.
            XCTAssertEqual(r.stdout, "enroll --hub \(base) --pin \(pin) --profile site-gateway\n")
            XCTAssertFalse(r.stdout.contains(token))
            XCTAssertTrue(r.stderr.contains("installed \(b.dest)"), r.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.dir + "/bin"), ["wgagent"], "no temporary file left")

            // A wrong checksum: nothing installed, non-zero exit.
            let other = t.dir + "/other/wgagent"
            let bad = try await runBootstrap(b, dest: other, [base, pin, "\(arch)=" + String(repeating: "0", count: 64)], token: token)
            XCTAssertEqual(bad.status, 2, bad.stderr)
            XCTAssertTrue(bad.stderr.contains("nothing installed"), bad.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.dir + "/other"), [], "neither the file nor a temporary one")
            XCTAssertEqual(bad.stdout, "", "enroll not run")

            // A wrong pin and a refused token: refused at once (exit 2), not retried until the bound.
            let wrongPin = "sha256//" + Data(repeating: 7, count: 32).base64EncodedString()
            let started = Date()
            let pinned = try await runBootstrap(b, dest: other, [base, wrongPin, "\(arch)=\(agent.sha)"], token: token)
            XCTAssertEqual(pinned.status, 2, pinned.stderr)
            XCTAssertTrue(pinned.stderr.contains("does not match the pin"), pinned.stderr)
            let refused = try await runBootstrap(b, dest: other, [base, pin, "\(arch)=\(agent.sha)"], token: "wgt_" + String(repeating: "x", count: 43))
            XCTAssertEqual(refused.status, 2, refused.stderr)
            XCTAssertTrue(refused.stderr.contains("HTTP 403"), refused.stderr)
            XCTAssertLessThan(Date().timeIntervalSince(started), 10)
            XCTAssertFalse(FileManager.default.fileExists(atPath: other))

            // Input the script refuses before it fetches anything.
            for args in [["http://127.0.0.1:1", pin, "\(arch)=\(agent.sha)"], [base, "sha1//x", "\(arch)=\(agent.sha)"], [base, pin, "\(arch)=abc"]] {
                let r = try await runBootstrap(b, dest: other, args, token: token)
                XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            }
            let noToken = try await runBootstrap(b, dest: other, [base, pin, "\(arch)=\(agent.sha)"], token: "")
            XCTAssertEqual(noToken.status, 2, noToken.stderr)
        }
    }

    func testBootstrapRetriesWhileTheHubIsDownThenGivesUpWithinItsBound() async throws {
        let dir = try makeTempDir()
        let b = try writeBootstrap(in: dir)
        let port = try closedPort()
        let started = Date()
        let r = try await runBootstrap(b, ["https://127.0.0.1:\(port)", "sha256//P/dzMwe+Rw0EIfUvGIuWt/NF3Fx9e5YWu4odwMpgMQ4=",
                                           "x86_64=" + String(repeating: "ab", count: 32), "aarch64=" + String(repeating: "ab", count: 32)],
                                       token: "wgt_" + String(repeating: "x", count: 43), timeout: 4)
        let took = Date().timeIntervalSince(started)
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertGreaterThanOrEqual(took, 2.5, "it kept trying until the bound (whole seconds)")
        XCTAssertLessThan(took, 15, "and stopped after it")
        let tries = r.stderr.components(separatedBy: "trying again").count - 1
        XCTAssertGreaterThanOrEqual(tries, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("did not hand out the agent within 4 s"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: b.dest))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/bin"), [], "no temporary file left")
    }
}

struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs argv (no shell) with `stdin` as its standard input and `environment` added to a minimal one: WGCommand,
/// the runner agent and hub use, bounded.
func runProcess(_ argv: [String], stdin: String = "", environment: [String: String] = [:]) throws -> ProcessResult {
    let r = try WGCommand(argv, input: Array(stdin.utf8), environment: ["PATH": "/usr/bin:/bin"].merging(environment) { $1 },
                          timeout: .seconds(120)).run()
    return ProcessResult(status: r.status, stdout: r.stdout, stderr: r.stderr)
}

/// A TCP port on 127.0.0.1 nothing listens on (bound, then closed).
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw WGAgentBinaryError("bind: \(errno)") }
    return Int(UInt16(bigEndian: addr.sin_port))
}
