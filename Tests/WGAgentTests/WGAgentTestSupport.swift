import Foundation
import Hummingbird
import Logging
import WGModel
import WGProvision
import WGProvisionTesting
import XCTest

@testable import WGHub

/// A Debian 12 machine on a LAN (198.51.100.0/24 behind ens18), booted with systemd, nothing installed,
/// forwarding already on.
func fakeDebian(hostname: String = "site-a") -> WGFakeHost {
    let host = WGFakeMachine.debian(hostname: hostname)
    host.addFile("/proc/sys/net/ipv4/ip_forward", "1\n")
    return host
}

func makeTempDir(_ name: String = #function) throws -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let dir = NSTemporaryDirectory() + "wgagent-test-\(safe)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int?
    func set(_ v: Int) { lock.withLock { value = v } }
    var port: Int? { lock.withLock { value } }
}

/// The real hub, in-process, over TLS (its self-signed identity) on 127.0.0.1 with a kernel-chosen port.
struct LiveHub {
    let dir: String
    let hub: WGHubService
    let hubKey = WGKey.generatePrivate().publicKey
    let tls: WGTLSIdentity

    init(insecureHTTP: Bool = false) throws {
        dir = try makeTempDir()
        var logger = Logger(label: "wgagent-test-hub")
        logger.logLevel = .critical
        let config = WGHubConfiguration(
            listenHost: "127.0.0.1", listenPort: 0, dataDirectory: dir, endpoint: "203.0.113.1:51820",
            pool: try WGAddressPool("192.0.2.0/24"), insecureHTTP: insecureHTTP)
        hub = try WGHubService(config: config, store: try WGHubStore.open(dataDirectory: dir), control: WGNoInterfaceControl(publicKey: hubKey), logger: logger)
        tls = try WGTLSIdentity.loadOrCreate(dataDirectory: dir, hostNames: ["127.0.0.1"])
    }

    var store: WGHubStore { hub.store }

    func token(uses: Int = 1) throws -> String {
        try store.createToken(kind: .enroll, name: nil, profile: "site-gateway", ttl: 3600, maxUses: uses).secret
    }

    /// Runs the server for the duration of `body`, which gets the base URL.
    func serve(_ body: (String) async throws -> Void) async throws {
        let box = PortBox()
        let app = try buildApplication(hub: hub, tls: hub.config.insecureHTTP ? nil : tls) { box.set($0) }
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { task.cancel() }
        let deadline = Date().addingTimeInterval(20)
        while box.port == nil && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        let port = try XCTUnwrap(box.port, "the hub did not start within 20 s")
        try await body("\(hub.config.insecureHTTP ? "http" : "https")://127.0.0.1:\(port)")
        task.cancel()
        _ = await task.result
    }
}

/// Runs `body` off the cooperative pool (libcurl calls block).
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        DispatchQueue.global().async { c.resume(with: Result { try body() }) }
    }
}

/// The error `body` threw (nil when it did not throw).
func blockingError(_ body: @escaping @Sendable () throws -> Void) async -> (any Error)? {
    do { try await blocking(body); return nil } catch { return error }
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
