import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import WGModel
import XCTest

@testable import WGHub

/// A hub gone bad: a real HTTPS server on 127.0.0.1 (its own self-signed identity, so the agent pins it as it would
/// pin wghub) that answers `POST /v1/enroll` with whatever the test puts in `answer`.
final class HostileHub: @unchecked Sendable {
    enum Answer: Sendable {
        /// A JSON body as written (with its Content-Length).
        case json(String)
        /// `bytes` of filler; `chunked` leaves out Content-Length (the body arrives in 64 KiB chunks).
        case large(bytes: Int, chunked: Bool)
        /// The JSON one byte at a time, `every` seconds apart (chunked).
        case drip(String, every: Double)
    }

    let dir: String
    let tls: WGTLSIdentity
    private let lock = NSLock()
    private var current: Answer = .json("{}")
    private var count = 0

    init() throws {
        dir = try makeTempDir()
        tls = try WGTLSIdentity.loadOrCreate(dataDirectory: dir, hostNames: ["127.0.0.1"])
    }

    var answer: Answer {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }

    /// Enroll requests seen.
    var requests: Int { lock.withLock { count } }

    func response() -> Response {
        lock.withLock { count += 1 }
        let headers: HTTPFields = [.contentType: "application/json"]
        switch answer {
        case .json(let text):
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        case .large(let bytes, let chunked):
            let chunk = ByteBuffer(repeating: UInt8(ascii: " "), count: 64 << 10)
            if !chunked {
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: " "), count: bytes)))
            }
            return Response(status: .ok, headers: headers, body: .init { writer in
                var left = bytes
                while left > 0 {
                    try await writer.write(chunk.getSlice(at: 0, length: min(left, chunk.readableBytes))!)
                    left -= chunk.readableBytes
                }
                try await writer.finish(nil)
            })
        case .drip(let text, let every):
            return Response(status: .ok, headers: headers, body: .init { writer in
                for b in text.utf8 {
                    try await writer.write(ByteBuffer(bytes: [b]))
                    try await Task.sleep(nanoseconds: UInt64(every * 1e9))
                }
                try await writer.finish(nil)
            })
        }
    }

    /// Runs the server for the duration of `body`, which gets the base URL.
    func serve(_ body: (String) async throws -> Void) async throws {
        let router = Router()
        router.post("/v1/enroll") { [self] _, _ in response() }
        let box = PortBox()
        var logger = Logger(label: "wgagent-test-hostile-hub")
        logger.logLevel = .critical
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: try tls.serverConfiguration()),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "hostile"),
            onServerRunning: { box.set($0.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { task.cancel() }
        let deadline = Date().addingTimeInterval(20)
        while box.port == nil && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        let port = try XCTUnwrap(box.port, "the hostile hub did not start within 20 s")
        try await body("https://127.0.0.1:\(port)")
        task.cancel()
        _ = await task.result
    }
}

/// A good enroll answer as JSON fields, for the tests to spoil one at a time.
func goodAnswer(hubKey: String) -> [String: Any] {
    [
        "address": "192.0.2.2/24",
        "hub_public_key": hubKey,
        "hub_endpoint": "203.0.113.1:51820",
        "allowed_ips": ["192.0.2.0/24"],
        "keepalive": 25,
        "credential": "wgc_" + String(repeating: "x", count: 43),
        "observed_address": "127.0.0.1",
        "site_id": 7,
    ]
}

func jsonText(_ fields: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
}
