import Foundation
import WGModel
import XCTest

@testable import WGAgent

final class WGHTTPClientTests: XCTestCase {
    func testURLsAreCheckedUpFront() {
        XCTAssertThrowsError(try WGHTTPClient(baseURL: "http://203.0.113.1:8443", verification: .system)) { e in
            XCTAssertEqual(e as? WGHTTPClientError, .insecureURL("http://203.0.113.1:8443"))
            XCTAssertTrue("\(e)".contains("--allow-insecure-http"))
        }
        XCTAssertNoThrow(try WGHTTPClient(baseURL: "http://203.0.113.1:8443", verification: .system, allowInsecureHTTP: true))
        XCTAssertThrowsError(try WGHTTPClient(baseURL: "ftp://203.0.113.1", verification: .system)) {
            XCTAssertEqual($0 as? WGHTTPClientError, .invalidURL("ftp://203.0.113.1"))
        }
        XCTAssertThrowsError(try WGHTTPClient(baseURL: "203.0.113.1:8443", verification: .system))
        let c = try? WGHTTPClient(baseURL: "https://hub.example.net:8443///", verification: .system)
        XCTAssertEqual(c?.baseURL, "https://hub.example.net:8443")
    }

    func testPinsAreValidated() {
        let good = "sha256//" + Data(repeating: 7, count: 32).base64EncodedString()
        XCTAssertNoThrow(try WGHTTPClient(baseURL: "https://127.0.0.1:1", verification: .pin(good)))
        XCTAssertNoThrow(try WGHTTPClient(baseURL: "https://127.0.0.1:1", verification: .pin(good + ";" + good)))
        for bad in ["", "sha256//", "sha1//AAAA", "sha256//" + Data(repeating: 7, count: 20).base64EncodedString(), String(good.dropFirst(8))] {
            XCTAssertThrowsError(try WGHTTPClient(baseURL: "https://127.0.0.1:1", verification: .pin(bad))) {
                XCTAssertEqual($0 as? WGHTTPClientError, .invalidPin(bad))
                XCTAssertTrue("\($0)".contains("sha256//BASE64"))
            }
        }
    }

    func testCAFileMustHoldACertificate() throws {
        let path = NSTemporaryDirectory() + "wg-not-a-cert-\(UUID().uuidString)"
        try "hello".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try WGHTTPClient(baseURL: "https://127.0.0.1:1", verification: .caFile(path))) {
            XCTAssertEqual($0 as? WGHTTPClientError, .caFileUnreadable(path))
        }
        XCTAssertThrowsError(try WGHTTPClient(baseURL: "https://127.0.0.1:1", verification: .caFile("/nonexistent/ca.pem")))
    }

    func testConnectionRefusedSaysWhatToCheck() throws {
        // Bind a port, then close it: nothing listens there.
        let (fd, port) = try tcpListener(listen: false)
        close(fd)
        let client = try WGHTTPClient(baseURL: "https://127.0.0.1:\(port)", verification: .system, connectTimeout: 2, timeout: 3)
        XCTAssertThrowsError(try client.get("/v1/sites", as: [String].self)) { e in
            guard case .couldNotConnect(let url, _)? = e as? WGHTTPClientError else { return XCTFail("\(e)") }
            XCTAssertEqual(url, "https://127.0.0.1:\(port)/v1/sites")
            XCTAssertTrue("\(e)".contains("is `wghub serve` running"))
        }
    }

    func testTimeoutWhenTheServerNeverAnswers() throws {
        // A listening socket that never accepts: TCP connects (backlog), TLS never starts.
        let (fd, port) = try tcpListener(listen: true)
        defer { close(fd) }
        let client = try WGHTTPClient(baseURL: "https://127.0.0.1:\(port)", verification: .system, connectTimeout: 1, timeout: 1.5)
        let start = Date()
        XCTAssertThrowsError(try client.post("/v1/health", ["seq": 1], bearer: "x", as: [String: String].self)) { e in
            // The message gives the time really waited: curl's connect timeout (1 s) covers the TLS handshake
            // and ends before the total one (1.5 s).
            guard case .timedOut(let url, let seconds)? = e as? WGHTTPClientError else { return XCTFail("\(e)") }
            XCTAssertEqual(url, "https://127.0.0.1:\(port)/v1/health")
            XCTAssertTrue((0.9...1.6).contains(seconds), "waited \(seconds) s")
            XCTAssertTrue((e as? WGHTTPClientError)?.isUnreachable == true, "a timeout is 'unreachable' (enroll exit 4), not a refusal")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    func testErrorMessagesNameTheWayOut() {
        let pin = "sha256//" + Data(repeating: 1, count: 32).base64EncodedString()
        XCTAssertTrue(WGHTTPClientError.pinMismatch(url: "https://h/v1/enroll", pin: pin).description.hasPrefix("the hub's key does not match --pin \(pin)"))
        let hub = WGHTTPClientError.hub(status: 403, error: WGErrorBody(error: "token_expired", message: "create a new one"), url: "https://h/v1/enroll")
        XCTAssertEqual(hub.hubStatus, 403)
        XCTAssertTrue(hub.description.contains("token_expired"))
        XCTAssertTrue(hub.description.contains("create a new one"))
        XCTAssertEqual(WGHTTPClientError.certificateNotTrusted(url: "u", detail: "d").curlCode, 60)
    }

    func testMessagesAreSnakeCaseOnTheWire() throws {
        let r = WGEnrollRequest(token: "t", publicKey: "k", hostname: "h", listenPort: 51820, os: "alpine", agentVersion: "1", lanSubnets: ["198.51.100.0/24"])
        let json = try XCTUnwrap(String(data: try JSONEncoder().encode(r), encoding: .utf8))
        for k in ["public_key", "listen_port", "agent_version", "lan_subnets"] { XCTAssertTrue(json.contains("\"\(k)\""), json) }
        let back = try JSONDecoder().decode(WGEnrollRequest.self, from: Data(#"{"token":"t","public_key":"k","hostname":"h","listen_port":1}"#.utf8))
        XCTAssertEqual(back.lanSubnets, [])
        let report = WGHealthReport(
            seq: 3, agentTime: 9, interface: "wg0",
            peers: [WGHealthPeer(publicKey: "p", endpoint: nil, latestHandshake: 5, receiveBytes: 1, transmitBytes: 2)],
            probeResults: [WGProbeResult(probeID: "prb_1", nonce: "n")])
        let rj = try XCTUnwrap(String(data: try JSONEncoder().encode(report), encoding: .utf8))
        for k in ["agent_time", "latest_handshake", "rx_bytes", "tx_bytes", "probe_results", "probe_id"] { XCTAssertTrue(rj.contains("\"\(k)\""), rj) }
        XCTAssertEqual(try JSONDecoder().decode(WGHealthReport.self, from: Data(rj.utf8)), report)
        let dg = WGProbeDatagram.encode(probeID: "prb_1", nonce: "abc")
        XCTAssertEqual(WGProbeDatagram.decode(dg)?.nonce, "abc")
        XCTAssertNil(WGProbeDatagram.decode(Array("hello".utf8)))
    }

    func tcpListener(listen doListen: Bool) throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if doListen { _ = listen(fd, 16) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, Int(UInt16(bigEndian: sa.sin_port)))
    }
}
