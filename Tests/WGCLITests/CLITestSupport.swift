import Foundation
import Hummingbird
import Logging
import WGAgent
import WGAgentCLI
import WGHub
import WGHubCLI
import WGModel
import WGProvision
import WGProvisionTesting
import XCTest

/// What a command printed, as the terminal would have it.
final class OutputRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var outText = "", errText = ""
    var stdout: String { lock.withLock { outText } }
    var stderr: String { lock.withLock { errText } }

    var output: WGOutput {
        WGOutput { stream, text in
            self.lock.withLock {
                if stream == .stdout { self.outText += text } else { self.errText += text }
            }
        }
    }
}

/// A run of `wgagent ARGS` or `wghub ARGS`: its exit status and what it printed.
struct CLIRun {
    let status: Int32
    let stdout: String
    let stderr: String
}

func quietLogger() -> Logger {
    var l = Logger(label: "wgcli-test")
    l.logLevel = .critical
    return l
}

/// `wgagent ARGS` against `host`; the port check answered by `portCheck`, the clock of the handshake wait
/// advanced instead of slept.
func wgagent(_ args: [String], on host: WGFakeHost, resources: [WGResource]? = nil,
             portCheck: @escaping WGPortCheckRunner = { _, _, _, _ in throw NoProbes() }) -> CLIRun {
    let rec = OutputRecorder()
    var clock = Date(timeIntervalSince1970: 1_700_000_000)
    let chosen: ((WGHost) -> [WGResource])? = resources.map { r in { _ in r } }
    let ctx = WGAgentCLIContext(
        host: { _ in host }, output: rec.output, portCheck: portCheck, resources: chosen,
        now: { clock }, sleep: { clock = clock.addingTimeInterval($0) }, readInput: { [] })
    let status = WGAgentCommand.run(args, ctx)
    return CLIRun(status: status, stdout: rec.stdout, stderr: rec.stderr)
}

/// `wgagent ARGS` off the cooperative pool (libcurl blocks), for the enroll tests.
func wgagentBlocking(_ args: [String], on host: WGFakeHost, resources: [WGResource]? = nil,
                     portCheck: @escaping @Sendable (WGHost, WGEnrollment, Int, Double) throws -> WGPortCheckResult = { _, _, _, _ in throw NoProbes() }
) async -> CLIRun {
    await withCheckedContinuation { c in
        DispatchQueue.global().async { c.resume(returning: wgagent(args, on: host, resources: resources, portCheck: portCheck)) }
    }
}

func wghub(_ args: [String]) async -> CLIRun {
    let rec = OutputRecorder()
    let status = await WGHubCommand.run(args, WGHubCLIContext(output: rec.output) { _ in quietLogger() })
    return CLIRun(status: status, stdout: rec.stdout, stderr: rec.stderr)
}

func makeTempDir(_ name: String = #function) throws -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let dir = NSTemporaryDirectory() + "wgcli-test-\(safe)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// What the port check says in these tests: nothing is probed.
struct NoProbes: Error, CustomStringConvertible { var description: String { "no probes in tests" } }

/// A Debian 12 VM as the CLI tests need it: systemd, a LAN behind ens18, nothing installed, and a WireGuard
/// interface whose `wg show wg0 dump` shows the hub as a peer with `handshake` (0: none yet).
final class FakeSite {
    let host: WGFakeHost
    private let lock = NSLock()
    private var hubKey: String?
    private var handshakeAt: Int64 = 0

    init(hostname: String = "site-a") {
        host = WGFakeMachine.debian(hostname: hostname)
        let me = WGKey.generatePrivate()
        host.respond(to: ["wg", "show", "wg0", "dump"]) { [self] _ in
            let (key, hs) = lock.withLock { (hubKey, handshakeAt) }
            var out = "\(me.base64)\t\(me.publicKey.base64)\t51820\toff\n"
            if let key { out += "\(key)\t(none)\t203.0.113.1:51820\t192.0.2.0/24\t\(hs)\t1024\t2048\t25\n" }
            return WGCommandResult(stdout: out)
        }
    }

    /// The hub appears as a peer of wg0, with a handshake at `at` (Unix seconds; 0: never).
    func peer(hub key: String, handshakeAt at: Int64) { lock.withLock { hubKey = key; handshakeAt = at } }
}

/// A real hub, in-process, set up by `WGHubServer.prepare` (as `wghub serve` is) on 127.0.0.1 over TLS,
/// without a WireGuard interface.
struct CLIHub {
    let dir: String
    let hubKey = WGKey.generatePrivate().publicKey
    let server: WGHubServer

    init() async throws {
        dir = try makeTempDir()
        var o = WGServeOptions(endpoint: "203.0.113.1:51820", pool: "192.0.2.0/24")
        o.listen = "127.0.0.1:0"
        o.dataDirectory = dir
        o.noInterface = true
        o.hubPublicKey = hubKey.base64
        server = try await WGHubServer.prepare(o, logger: quietLogger())
    }

    var pin: String { server.tls!.pin }

    /// An enrollment token made by `wghub token create`, taken from the line it prints.
    func token(url: String) async throws -> String {
        let r = await wghub(["token", "create", "--data", dir, "--profile", "site-gateway", "--hub", url])
        XCTAssertEqual(r.status, 0, r.stderr)
        let words = try XCTUnwrap(r.stdout.split(separator: "\n").last).split(separator: " ")
        let i = try XCTUnwrap(words.firstIndex(of: "--token"))
        return String(words[i + 1])
    }

    /// Runs the server for the duration of `body`, which gets the base URL.
    func serve(_ body: (String) async throws -> Void) async throws {
        let port = PortBox()
        let app = try server.buildApplication { port.set($0) }
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { task.cancel() }
        let deadline = Date().addingTimeInterval(20)
        while port.value == nil && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        let p = try XCTUnwrap(port.value, "the hub did not start within 20 s")
        try await body("https://127.0.0.1:\(p)")
        task.cancel()
        _ = await task.result
    }
}

final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?
    func set(_ v: Int) { lock.withLock { port = v } }
    var value: Int? { lock.withLock { port } }
}

/// A port-check answer, as the hub and the listener would give it.
func portCheckResult(_ verdict: String, port: Int) -> WGPortCheckResult {
    let json = """
        {"verdict": "\(verdict)", "port": \(port), "probe_id": "p1", "sent_to": "198.51.100.2:\(port)", "watched_with": "bound socket",
         "causes": [], "checked_at": 0}
        """
    return try! JSONDecoder().decode(WGPortCheckResult.self, from: Data(json.utf8))
}
