import Foundation
import Hummingbird
import WGAgent
import WGModel
import XCTest

@testable import WGHub

/// Runs `body` off the cooperative pool (libcurl calls block).
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        DispatchQueue.global().async { c.resume(with: Result { try body() }) }
    }
}

final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int?
    func set(_ v: Int) { lock.withLock { value = v } }
    var port: Int? { lock.withLock { value } }
}

/// A real server on 127.0.0.1 (port chosen by the kernel), TLS with the self-signed identity unless insecure.
func withLiveHub(_ t: TestHub, _ body: (_ baseURL: String, _ tls: WGTLSIdentity?) async throws -> Void) async throws {
    let tls = t.hub.config.insecureHTTP ? nil : try WGTLSIdentity.loadOrCreate(dataDirectory: t.dir, hostNames: ["127.0.0.1"])
    let box = PortBox()
    let app = try buildApplication(hub: t.hub, tls: tls) { box.set($0) }
    let task = Task { try await app.runService(gracefulShutdownSignals: []) }
    defer { task.cancel() }
    let deadline = Date().addingTimeInterval(20)
    while box.port == nil && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
    let port = try XCTUnwrap(box.port, "server did not start")
    try await body("\(tls == nil ? "http" : "https")://127.0.0.1:\(port)", tls)
    task.cancel()
    _ = await task.result
}

final class TLSClientTests: XCTestCase {
    func testEnrollAndReportOverTLSWithCAFileAndWithPin() async throws {
        let t = try TestHub()
        let token = try t.token(uses: 2)
        try await withLiveHub(t) { url, tls in
            let tls = try XCTUnwrap(tls)
            let byCA = try WGHTTPClient(baseURL: url, verification: .caFile(tls.certificatePath))
            let e1: WGEnrollResponse = try await blocking { try byCA.post("/v1/enroll", enrollBody(token: token, hostname: "ca-site")) }
            XCTAssertEqual(e1.address, "192.0.2.2/24")
            XCTAssertEqual(e1.observedAddress, "127.0.0.1")

            let byPin = try WGHTTPClient(baseURL: url, verification: .pin(tls.pin))
            let e2: WGEnrollResponse = try await blocking { try byPin.post("/v1/enroll", enrollBody(token: token, hostname: "pin-site")) }
            XCTAssertEqual(e2.address, "192.0.2.3/24")
            let ack: WGHealthAck = try await blocking {
                try byPin.post("/v1/health", WGHealthReport(seq: 1, agentTime: 0, interface: "wg0"), bearer: e2.credential)
            }
            XCTAssertTrue(ack.stored)

            let both = try WGHTTPClient(baseURL: url.replacingOccurrences(of: "127.0.0.1", with: "localhost"), verification: .caFileAndPin(tls.certificatePath, tls.pin))
            let refused = await blockingError { try both.post("/v1/enroll", enrollBody(token: token), as: WGEnrollResponse.self) }
            XCTAssertEqual(refused?.hubStatus, 403, "used-up token comes back as the hub's JSON error")
            if case .hub(_, let body?, _) = refused { XCTAssertEqual(body.error, "token_used_up") } else { XCTFail("\(String(describing: refused))") }
            XCTAssertTrue(refused?.description.contains("wghub token create") ?? false)
        }
    }

    func testWrongPinAndUntrustedCertificateAreRefused() async throws {
        let t = try TestHub()
        let token = try t.token()
        try await withLiveHub(t) { url, _ in
            let wrongPin = "sha256//" + Data(WGHubSecrets.randomBytes(32)).base64EncodedString()
            let client = try WGHTTPClient(baseURL: url, verification: .pin(wrongPin))
            let e = await blockingError { try client.post("/v1/enroll", enrollBody(token: token), as: WGEnrollResponse.self) }
            XCTAssertEqual(e, .pinMismatch(url: url + "/v1/enroll", pin: wrongPin))
            XCTAssertEqual(e?.curlCode, 90)
            XCTAssertTrue(e?.description.contains("the hub's key does not match --pin") ?? false)

            let system = try WGHTTPClient(baseURL: url, verification: .system)
            let e2 = await blockingError { try system.post("/v1/enroll", enrollBody(token: token), as: WGEnrollResponse.self) }
            XCTAssertEqual(e2?.curlCode, 60, "\(String(describing: e2))")

            // Another self-signed certificate as CA file does not verify this hub.
            let otherDir = try makeTempDir()
            let other = try WGTLSIdentity.loadOrCreate(dataDirectory: otherDir, hostNames: ["127.0.0.1"])
            let wrongCA = try WGHTTPClient(baseURL: url, verification: .caFile(other.certificatePath))
            let e3 = await blockingError { try wrongCA.post("/v1/enroll", enrollBody(token: token), as: WGEnrollResponse.self) }
            XCTAssertEqual(e3?.curlCode, 60)
        }
        await AssertEqual(try await t.store.allSites().count, 0, "nothing was enrolled by a refused connection")
        XCTAssertEqual(try t.store.tokens().first?.uses, 0)
    }

    func testSelfSignedIdentityIsPrivateReusedAndPinMatchesOpenSSL() throws {
        let dir = try makeTempDir()
        let a = try WGTLSIdentity.loadOrCreate(dataDirectory: dir, hostNames: ["203.0.113.1", "hub.example.net"])
        XCTAssertTrue(a.created)
        for path in [a.certificatePath, a.keyPath] {
            let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
            XCTAssertEqual(mode, 0o600, path)
        }
        let b = try WGTLSIdentity.loadOrCreate(dataDirectory: dir)
        XCTAssertFalse(b.created)
        XCTAssertEqual(a.pin, b.pin, "the same key after a restart")
        XCTAssertTrue(a.pin.hasPrefix("sha256//"))
        XCTAssertEqual(Data(base64Encoded: String(a.pin.dropFirst(8)))?.count, 32)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { throw XCTSkip("openssl not installed") }
        let script = "openssl x509 -in '\(a.certificatePath)' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64"
        let out = try runCommand(["/bin/sh", "-c", script]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual("sha256//" + out, a.pin, "the pin is what LAB.md's openssl pipeline computes")
        let text = try runCommand(["openssl", "x509", "-in", a.certificatePath, "-noout", "-text"]).out
        XCTAssertTrue(text.contains("IP Address:203.0.113.1"), text)
        XCTAssertTrue(text.contains("DNS:hub.example.net"))
    }

    func testPlainHTTPOnlyWhenBothSidesSaySo() async throws {
        XCTAssertThrowsError(try WGHTTPClient(baseURL: "http://127.0.0.1:1", verification: .system)) {
            XCTAssertEqual($0 as? WGHTTPClientError, .insecureURL("http://127.0.0.1:1"))
        }
        let t = try TestHub { $0.insecureHTTP = true }
        let token = try t.token()
        try await withLiveHub(t) { url, tls in
            XCTAssertNil(tls)
            XCTAssertTrue(url.hasPrefix("http://"))
            let client = try WGHTTPClient(baseURL: url, verification: .system, allowInsecureHTTP: true)
            let e: WGEnrollResponse = try await blocking { try client.post("/v1/enroll", enrollBody(token: token)) }
            XCTAssertEqual(e.address, "192.0.2.2/24")
        }
    }

    func testProbeDatagramArrivesFromAnotherPortOverLiveHub() async throws {
        let t = try TestHub()
        // The real UDP sender for this one.
        let hub = try WGHubService(config: t.hub.config, store: t.store, control: t.wg, prober: WGUDPProbeSender(), logger: quietLogger())
        let live = TestHubView(dir: t.dir, hub: hub)
        let token = try t.token()
        let (fd, port) = try udpReceiver()
        defer { close(fd) }
        try await withLiveHub(live.asTestHub(t)) { url, tls in
            let client = try WGHTTPClient(baseURL: url, verification: .pin(try XCTUnwrap(tls).pin))
            let e: WGEnrollResponse = try await blocking { try client.post("/v1/enroll", enrollBody(token: token, port: port)) }
            let p: WGProbeResponse = try await blocking { try client.post("/v1/probe", WGProbeRequest(port: port), bearer: e.credential) }
            XCTAssertEqual(p.sentTo, "127.0.0.1:\(port)")
            let (payload, sourcePort) = try receive(fd)
            XCTAssertNotEqual(sourcePort, 51820)
            let (id, nonce) = try XCTUnwrap(WGProbeDatagram.decode(payload))
            XCTAssertEqual(id, p.probeID)
            let v: WGProbeVerdict = try await blocking {
                try client.post("/v1/probe/\(p.probeID)/result", WGProbeResult(nonce: nonce), bearer: e.credential)
            }
            XCTAssertEqual(v.verdict, "open")
        }
    }
}

struct TestHubView {
    let dir: String
    let hub: WGHubService
    func asTestHub(_ base: TestHub) -> TestHub { TestHub(dir: dir, hub: hub, wg: base.wg, prober: base.prober) }
}

extension TestHub {
    init(dir: String, hub: WGHubService, wg: FakeWireGuard, prober: RecordingProber) {
        self.dir = dir
        self.hub = hub
        self.wg = wg
        self.prober = prober
    }
}

func blockingError(_ body: @escaping @Sendable () throws -> Any) async -> WGHTTPClientError? {
    do {
        _ = try await blocking { _ = try body() }
        return nil
    } catch let e as WGHTTPClientError {
        return e
    } catch {
        XCTFail("unexpected error \(error)")
        return nil
    }
}

func udpReceiver() throws -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw WGProbeSendError(description: "socket") }
    var sa = sockaddr_in()
    sa.sin_family = sa_family_t(AF_INET)
    sa.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    return (fd, Int(UInt16(bigEndian: sa.sin_port)))
}

func receive(_ fd: Int32) throws -> ([UInt8], Int) {
    var buf = [UInt8](repeating: 0, count: 600)
    var from = sockaddr_in()
    var flen = socklen_t(MemoryLayout<sockaddr_in>.size)
    let n = withUnsafeMutablePointer(to: &from) { f in
        f.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &flen) }
    }
    guard n > 0 else { throw WGProbeSendError(description: "no datagram within 5 s") }
    return (Array(buf[0..<n]), Int(UInt16(bigEndian: from.sin_port)))
}
