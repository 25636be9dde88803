import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import WGModel
import XCTest
import WGProcess

@testable import WGHub

/// Records every change and keeps the peers, like a WireGuard interface would.
final class FakeWireGuard: WGInterfaceControl, @unchecked Sendable {
    let interfaceName = "wgfake0"
    let hubKey = WGKey.generatePrivate()
    private let lock = NSLock()
    private(set) var peers: [String: [String]] = [:]
    private(set) var routes: Set<String> = []
    private(set) var calls: [String] = []
    /// Per-peer live state a test can set (handshake, rx/tx, endpoint).
    var live: [String: (handshake: Int64, rx: UInt64, tx: UInt64, endpoint: String?)] = [:]
    var failSetPeer = false
    /// The hub machine's networks as `ip` would show them (a test sets its uplink and gateway).
    var host = WGHostNetworks()
    func hostNetworks() throws -> WGHostNetworks { lock.withLock { host } }

    func dump() throws -> WGDump {
        lock.withLock {
            WGDump(publicKey: hubKey.publicKey, listenPort: 51820, peers: peers.keys.sorted().map { k in
                let l = live[k]
                return WGDumpPeer(
                    publicKey: try! WGKey(base64: k), endpoint: l?.endpoint, allowedIPs: peers[k]!.map { try! WGCIDR($0) },
                    latestHandshake: l?.handshake ?? 0, receiveBytes: l?.rx ?? 0, transmitBytes: l?.tx ?? 0)
            })
        }
    }

    func setPeer(publicKey: String, allowedIPs: [String]) throws {
        if failSetPeer { throw WGCommandError.failed(argv: ["wg", "set"], status: 1, stderr: "fake failure") }
        lock.withLock {
            peers[publicKey] = allowedIPs
            calls.append("set \(publicKey) \(allowedIPs.joined(separator: ","))")
        }
    }

    func removePeer(publicKey: String) throws {
        lock.withLock {
            peers[publicKey] = nil
            calls.append("remove \(publicKey)")
        }
    }

    func addRoute(_ subnet: String) throws { lock.withLock { _ = routes.insert(subnet); calls.append("route add \(subnet)") } }
    func removeRoute(_ subnet: String) throws { lock.withLock { _ = routes.remove(subnet); calls.append("route del \(subnet)") } }

    func setLive(_ key: String, handshake: Int64, rx: UInt64 = 0, tx: UInt64 = 0, endpoint: String? = nil) {
        lock.withLock { live[key] = (handshake, rx, tx, endpoint) }
    }
    func resetCalls() { lock.withLock { calls = [] } }
}

/// Records probe datagrams instead of sending them.
final class RecordingProber: WGProbeSender, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var sent: [(payload: [UInt8], host: String, port: Int, avoid: Int?)] = []
    func send(_ payload: [UInt8], host: String, port: Int, avoidPort: Int?) throws -> Int {
        lock.withLock { sent.append((payload, host, port, avoidPort)) }
        return 40000
    }
}

func makeTempDir(_ name: String = #function) throws -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let dir = NSTemporaryDirectory() + "wghub-test-\(safe)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Only documentation ranges in tests.
let testPool = "192.0.2.0/24"

func makeConfig(dir: String, pool: String = testPool, _ edit: (inout WGHubConfiguration) -> Void = { _ in }) throws -> WGHubConfiguration {
    var c = WGHubConfiguration(
        listenHost: "127.0.0.1", listenPort: 0, dataDirectory: dir, endpoint: "203.0.113.1:51820", pool: try WGAddressPool(pool))
    edit(&c)
    return c
}

func quietLogger() -> Logger {
    var l = Logger(label: "wghub-test")
    l.logLevel = ProcessInfo.processInfo.environment["WGHUB_TEST_LOG"] != nil ? .debug : .critical
    return l
}

struct TestHub {
    let dir: String
    let hub: WGHubService
    let wg: FakeWireGuard
    let prober: RecordingProber

    init(dir: String? = nil, wg: FakeWireGuard = FakeWireGuard(), agent: WGAgentBundle = .none,
         _ edit: (inout WGHubConfiguration) -> Void = { _ in }) throws {
        let d = try dir ?? makeTempDir()
        self.dir = d
        self.wg = wg
        self.prober = RecordingProber()
        let store = try WGHubStore.open(dataDirectory: d)
        hub = try WGHubService(config: try makeConfig(dir: d, edit), store: store, control: wg, prober: prober, agent: agent, logger: quietLogger())
    }

    var store: WGHubStore { hub.store }

    func app() -> some ApplicationProtocol {
        Application(router: buildRouter(hub: hub), logger: quietLogger())
    }

    func token(uses: Int = 1, ttl: TimeInterval = 3600, profile: String? = "site-gateway", lan: [String] = []) throws -> String {
        try store.createToken(kind: .enroll, name: nil, profile: profile, ttl: ttl, maxUses: uses, lanGrants: lan).secret
    }

    func admin() throws -> String { try store.createToken(kind: .admin).secret }
}

func newPublicKey() -> String { WGKey.generatePrivate().publicKey.base64 }

func enrollBody(token: String, key: String = newPublicKey(), hostname: String = "site-a", port: Int = 51820, lan: [String] = []) -> WGEnrollRequest {
    WGEnrollRequest(token: token, publicKey: key, hostname: hostname, listenPort: port, os: "debian-12", agentVersion: "0.1.0", lanSubnets: lan)
}

func jsonBuffer(_ value: some Encodable) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONEncoder().encode(value))
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
}

extension TestClientProtocol {
    func postJSON(_ uri: String, _ body: some Encodable, bearer: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await execute(uri: uri, method: .post, headers: headers, body: try jsonBuffer(body))
    }

    func get(_ uri: String, bearer: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }
}

/// Tests that need root or tools: fail under CI=true, skip (loudly) elsewhere.
func requireEnvironment(_ ok: Bool, _ why: String, file: StaticString = #filePath, line: UInt = #line) throws {
    guard !ok else { return }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        XCTFail("CI needs this test to run: \(why)", file: file, line: line)
        throw XCTSkip("failed above: \(why)")
    }
    print("SKIPPED (not CI): \(why)")
    throw XCTSkip(why)
}

/// The directory holding the built products (wghub next to the test bundle).
var productsDirectory: URL {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" || url.lastPathComponent == "MacOS" {
        url = url.deletingLastPathComponent()
    }
    for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") { return b.bundleURL.deletingLastPathComponent() }
    return url
}

// Async-friendly assertions (XCTest's autoclosures cannot await).
func AssertEqual<T: Equatable>(
    _ a: @autoclosure () async throws -> T, _ b: @autoclosure () async throws -> T, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) async {
    do {
        let x = try await a()
        let y = try await b()
        XCTAssertEqual(x, y, message(), file: file, line: line)
    } catch { XCTFail("threw \(error)", file: file, line: line) }
}

func AssertNil<T>(_ a: @autoclosure () async throws -> T?, _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) async {
    do { let v = try await a(); XCTAssertNil(v, message(), file: file, line: line) } catch { XCTFail("threw \(error)", file: file, line: line) }
}

func AssertNotNil<T>(_ a: @autoclosure () async throws -> T?, _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) async {
    do { let v = try await a(); XCTAssertNotNil(v, message(), file: file, line: line) } catch { XCTFail("threw \(error)", file: file, line: line) }
}

func AssertTrue(_ a: @autoclosure () async throws -> Bool, _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) async {
    do { let v = try await a(); XCTAssertTrue(v, message(), file: file, line: line) } catch { XCTFail("threw \(error)", file: file, line: line) }
}

func AssertFalse(_ a: @autoclosure () async throws -> Bool, _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) async {
    do { let v = try await a(); XCTAssertFalse(v, message(), file: file, line: line) } catch { XCTFail("threw \(error)", file: file, line: line) }
}
