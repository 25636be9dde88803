import Foundation
import WGProcess
import XCTest

/// The one runner, for real: argv untouched, stdout and stderr apart, bounded by its timeout, not held up by a
/// daemon its command leaves behind (what `wg-quick up` does with wireguard-go).
final class WGCommandTests: XCTestCase {
    func testOutputsApartAndStatus() throws {
        let r = try WGCommand(["sh", "-c", "echo out; echo err >&2; exit 7"]).run()
        XCTAssertEqual(r.status, 7)
        XCTAssertEqual(r.stdout, "out\n")
        XCTAssertEqual(r.stderr, "err\n")
        XCTAssertFalse(r.succeeded)
    }

    func testInputReachesTheChild() throws {
        let r = try WGCommand(["tr", "a-z", "A-Z"], input: Array("wireguard\n".utf8)).run()
        XCTAssertEqual(r.stdout, "WIREGUARD\n")
    }

    func testEnvironmentIsExactlyWhatIsGiven() throws {
        let r = try WGCommand(["/usr/bin/env"], environment: ["ONLY": "this"]).run()
        XCTAssertEqual(r.stdout, "ONLY=this\n")
        let d = try WGCommand(["/usr/bin/env"]).run().stdout
        XCTAssertTrue(d.contains("PATH=\(WGCommand.pathVariable)\n") && d.contains("LC_ALL=C\n"), d)
    }

    func testNotFoundNamesTheWayOut() {
        XCTAssertThrowsError(try WGCommand(["no-such-command-wg"]).run()) { error in
            XCTAssertEqual(error as? WGCommandError, .notFound(argv: ["no-such-command-wg"]))
            XCTAssertTrue("\(error)".contains("install the package that provides it"), "\(error)")
        }
    }

    func testTimeoutKillsTheChild() throws {
        let marker = "/tmp/wgcommand-timeout-\(getpid())"
        let start = Date()
        XCTAssertThrowsError(try WGCommand(["sh", "-c", "sleep 5; touch \(marker)"], timeout: .milliseconds(300)).run()) { error in
            guard case .timedOut = error as? WGCommandError else { return XCTFail("\(error)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3, "bounded by the timeout, not by the child")
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testSignalledChildReportsLikeAShell() throws {
        let r = try WGCommand(["sh", "-c", "kill -9 $$"]).run()
        XCTAssertEqual(r.status, 128 + 9)
    }

    /// A daemon that inherits stdout and stderr (wireguard-go started by wg-quick) must not keep us waiting.
    func testDaemonHoldingTheOutputDoesNotHang() throws {
        for streaming in [false, true] {
            let start = Date()
            let lines = Lines()
            var onLine: (@Sendable (String) -> Void)?
            if streaming { onLine = { line in lines.add(line) } }
            let r = try WGCommand(["sh", "-c", "sleep 20 & echo started; echo note >&2"], timeout: .seconds(15)).run(onLine: onLine)
            XCTAssertEqual(r.status, 0)
            XCTAssertEqual(r.stdout, "started\n")
            XCTAssertEqual(r.stderr, "note\n")
            if streaming { XCTAssertEqual(lines.all, ["started"]) }
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "returned when sh ended, not when its daemon did (streaming: \(streaming))")
        }
        _ = try? WGCommand(["pkill", "-f", "^sleep 20$"]).run()
    }

    func testLargeOutputBothWays() throws {
        let big = [UInt8](repeating: 65, count: 1 << 20)
        let r = try WGCommand(["cat"], input: big).run()
        XCTAssertEqual(r.stdout.utf8.count, 1 << 20)
    }

    func testAsyncFormDoesNotBlockATask() async throws {
        async let a = WGCommand(["sh", "-c", "sleep 0.3; echo a"]).runAsync()
        async let b = WGCommand(["sh", "-c", "sleep 0.3; echo b"]).runAsync()
        let (ra, rb) = try await (a, b)
        XCTAssertEqual(ra.stdout + rb.stdout, "a\nb\n")
    }
}

private final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
