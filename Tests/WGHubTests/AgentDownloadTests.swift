import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import WGModel
import XCTest

@testable import WGHub

/// Downloads of the agent that survive slow links (issue #17): gzip on the wire, HEAD and Range so a cut download
/// resumes, a deadline about progress rather than total time, and bounded slots. The "agent" is /bin/echo with
/// padding after it (still an ELF of this machine that runs as echo).
final class AgentDownloadTests: XCTestCase {
    /// /bin/echo followed by `padding` bytes: `compressible` repeats text (gzip shrinks it), else random bytes.
    func paddedAgent(in dir: String, padding: Int, compressible: Bool) throws -> (path: String, data: Data, sha: String) {
        var data = try Data(contentsOf: URL(fileURLWithPath: "/bin/echo"))
        if compressible {
            let line = Data("wgagent padding that compresses well, as a real binary's tables and strings do\n".utf8)
            while data.count < padding { data.append(line) }
        } else {
            var rng = SystemRandomNumberGenerator()
            data.append(contentsOf: (0..<padding).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        let path = dir + "/wgagent-padded"
        try data.write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return (path, data, Self.hex(data))
    }

    static func hex(_ d: Data) -> String { SHA256.hash(data: d).map { String(format: "%02x", $0) }.joined() }

    func testRangeHeaders() {
        XCTAssertEqual(WGByteRange.parse(nil, size: 100), .whole)
        XCTAssertEqual(WGByteRange.parse("bytes=10-", size: 100), .part(10..<100))
        XCTAssertEqual(WGByteRange.parse("bytes=10-19", size: 100), .part(10..<20))
        XCTAssertEqual(WGByteRange.parse("bytes=90-500", size: 100), .part(90..<100), "an end past the size is the last byte")
        XCTAssertEqual(WGByteRange.parse("bytes=-30", size: 100), .part(70..<100), "the last 30 bytes")
        XCTAssertEqual(WGByteRange.parse("bytes=-300", size: 100), .whole, "more than there is: all of it")
        XCTAssertEqual(WGByteRange.parse("bytes=0-", size: 100), .whole)
        XCTAssertEqual(WGByteRange.parse("bytes=100-", size: 100), .unsatisfiable, "starts past the end: 416")
        XCTAssertEqual(WGByteRange.parse("bytes=-0", size: 100), .unsatisfiable)
        // Malformed or several ranges: the whole body, as RFC 9110 allows.
        for bad in ["bytes=20-10", "bytes=a-b", "items=1-2", "bytes=1-2,5-6", "bytes=", "bytes=-", "bytes=99999999999999999999-"] {
            XCTAssertEqual(WGByteRange.parse(bad, size: 100), .whole, bad)
        }
    }

    func testAcceptEncoding() {
        XCTAssertTrue(WGAgentDownloads.acceptsGzip("gzip"))
        XCTAssertTrue(WGAgentDownloads.acceptsGzip("deflate, gzip;q=0.5"))
        XCTAssertTrue(WGAgentDownloads.acceptsGzip("*"))
        XCTAssertFalse(WGAgentDownloads.acceptsGzip("gzip;q=0"))
        XCTAssertFalse(WGAgentDownloads.acceptsGzip("*, gzip;q=0"))
        XCTAssertFalse(WGAgentDownloads.acceptsGzip("br, zstd"))
        XCTAssertFalse(WGAgentDownloads.acceptsGzip(nil))
    }

    /// gzip when asked (the checksum header still the binary's), HEAD without spending a download, Range and
    /// If-Range for resuming, 416 past the end.
    func testGzipHeadAndRangesThroughTheRouter() async throws {
        let dir = try makeTempDir()
        let agent = try paddedAgent(in: dir, padding: 400_000, compressible: true)
        let bundle = await WGAgentBundle.load(files: [agent.path])
        let arch = try XCTUnwrap(WGAgentBundle.hostArch)
        let info = try XCTUnwrap(bundle.info?.architectures[arch])
        let gzSize = try XCTUnwrap(info.gzipSize, "compressed once at load")
        XCTAssertLessThan(gzSize, agent.data.count / 4)
        let t = try TestHub(dir: dir, agent: bundle) { $0.agentDownloadLimit = 3 }
        let token = try t.token()
        let path = "/v1/agent/\(arch)"
        try await t.app().test(.router) { client in
            // HEAD: the size, tag and checksum; no body, and no download spent (the limit is 3 a minute).
            for _ in 0..<4 {
                let head = try await client.execute(uri: path, method: .head, headers: [.authorization: "Bearer \(token)"])
                XCTAssertEqual(head.status, .ok)
                XCTAssertEqual(head.headers[.contentLength], "\(agent.data.count)")
                XCTAssertEqual(head.headers[.acceptRanges], "bytes")
                XCTAssertEqual(head.headers[agentChecksumHeader], agent.sha)
                XCTAssertEqual(head.body.readableBytes, 0)
            }
            let gzHead = try await client.execute(uri: path, method: .head, headers: [.authorization: "Bearer \(token)", .acceptEncoding: "gzip"])
            XCTAssertEqual(gzHead.headers[.contentLength], "\(gzSize)")
            XCTAssertEqual(gzHead.headers[.contentEncoding], "gzip")

            // gzip on the wire: it unpacks to the binary, whose checksum the header names.
            let gz = try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(token)", .acceptEncoding: "gzip"])
            XCTAssertEqual(gz.status, .ok)
            XCTAssertEqual(gz.headers[.contentEncoding], "gzip")
            XCTAssertEqual(gz.headers[.vary], "Accept-Encoding")
            XCTAssertEqual(gz.headers[agentChecksumHeader], agent.sha)
            XCTAssertEqual(gz.body.readableBytes, gzSize)
            let gzFile = dir + "/agent.gz"
            try Data(gz.body.readableBytesView).write(to: URL(fileURLWithPath: gzFile))
            let unpacked = try runProcess(["/bin/gzip", "-dkf", gzFile])
            XCTAssertEqual(unpacked.status, 0, unpacked.stderr)
            XCTAssertEqual(Self.hex(try Data(contentsOf: URL(fileURLWithPath: dir + "/agent"))), agent.sha,
                           "gunzip gives back the binary, byte for byte")

            // A resumed download: the rest from an offset, with its Content-Range; the tag of the other
            // representation in If-Range gets the whole body, never a mix.
            let etag = try XCTUnwrap(gz.headers[.eTag])
            let part = try await client.execute(uri: path, method: .get, headers: [
                .authorization: "Bearer \(token)", .acceptEncoding: "gzip", .range: "bytes=1000-", .ifRange: etag,
            ])
            XCTAssertEqual(part.status, .partialContent)
            XCTAssertEqual(part.headers[.contentRange], "bytes 1000-\(gzSize - 1)/\(gzSize)")
            XCTAssertEqual(Data(part.body.readableBytesView), Data(gz.body.readableBytesView).dropFirst(1000))
            let otherTag = try await client.execute(uri: path, method: .get, headers: [
                .authorization: "Bearer \(token)", .range: "bytes=1000-", .ifRange: etag,
            ])
            XCTAssertEqual(otherTag.status, .ok, "the identity form has another tag: the whole binary")
            XCTAssertEqual(Data(otherTag.body.readableBytesView), agent.data)
            // Past the end: 416 saying the size (the bootstrap then starts from zero); not a download spent.
            let past = try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(token)", .range: "bytes=\(agent.data.count)-"])
            XCTAssertEqual(past.status, .rangeNotSatisfiable)
            XCTAssertEqual(past.headers[.contentRange], "bytes */\(agent.data.count)")
            // Three downloads were sent this minute: the fourth is the per-minute limit's.
            await AssertEqual(try await client.get(path, bearer: token).status, .tooManyRequests)
        }
        XCTAssertEqual(t.hub.metrics.value("wghub_agent_downloads_total"), 3)
        XCTAssertEqual(t.hub.metrics.value("wghub_agent_downloads_resumed_total"), 1)
        XCTAssertEqual(t.hub.metrics.value("wghub_agent_downloads_gzip_total"), 2)
        XCTAssertEqual(t.hub.metrics.value("wghub_agent_downloads_completed_total"), 3)
        XCTAssertEqual(t.hub.metrics.value("wghub_agent_download_bytes_total"), gzSize + (gzSize - 1000) + agent.data.count)
    }

    /// Downloads being sent hold a slot: beyond the caps 503 with Retry-After; a slot comes back when its body is gone.
    func testDownloadSlotsAreCappedAndComeBack() async throws {
        let slots = WGDownloadSlots(limits: WGDownloadLimits(total: 3, perAddress: 2, perNetwork: 2, retryAfter: 7))
        var held: [WGDownloadSlots.Slot] = []
        held.append(try slots.acquire("198.51.100.7").get())
        held.append(try slots.acquire("198.51.100.7").get())
        XCTAssertEqual(refusal(slots.acquire("198.51.100.7")), .address)
        XCTAssertEqual(refusal(slots.acquire("198.51.100.8")), .network, "the same /24")
        held.append(try slots.acquire("203.0.113.9").get())
        XCTAssertEqual(refusal(slots.acquire("192.0.2.1")), .total)
        XCTAssertEqual(slots.active, 3)
        held.removeFirst()
        XCTAssertEqual(slots.active, 2, "given back when the slot (the body holding it) is gone")
        XCTAssertNoThrow(try slots.acquire("198.51.100.8").get())
        XCTAssertEqual(refusal(slots.acquire("2001:db8::1")), nil, "the slot above was dropped at once")
        XCTAssertEqual(refusal(slots.acquire("2001:db8::1")), nil)

        let dir = try makeTempDir()
        let agent = try paddedAgent(in: dir, padding: 1000, compressible: false)
        let t = try TestHub(dir: dir, agent: await WGAgentBundle.load(files: [agent.path])) {
            $0.downloads = WGDownloadLimits(total: 4, perAddress: 1, perNetwork: 4, retryAfter: 9)
        }
        let token = try t.token()
        let arch = try XCTUnwrap(WGAgentBundle.hostArch)
        // The router test has no client address: the hub counts it as "unknown". Hold that address's one slot.
        let busy = SlotHolder(try t.hub.downloads.slots.acquire("unknown").get())
        try await t.app().test(.router) { client in
            let r = try await client.get("/v1/agent/\(arch)", bearer: token)
            XCTAssertEqual(r.status, .serviceUnavailable)
            XCTAssertEqual(r.headers[.retryAfter], "9")
            let body = try decodeJSON(WGErrorBody.self, r.body)
            XCTAssertEqual(body.error, "agent_download_busy_address")
            XCTAssertTrue(body.message.contains("--max-downloads-per-ip"), body.message)
            busy.drop()
            let ok = try await client.get("/v1/agent/\(arch)", bearer: token)
            XCTAssertEqual(ok.status, .ok)
            XCTAssertEqual(Data(ok.body.readableBytesView), agent.data)
            let metrics = try await client.get("/metrics", bearer: try t.admin())
            XCTAssertTrue(String(buffer: metrics.body).contains("wghub_refusals_total{reason=\"agent_download_busy_address\"} 1"))
            XCTAssertTrue(String(buffer: metrics.body).contains("wghub_agent_downloads_active 0"))
        }
    }

    final class SlotHolder: @unchecked Sendable {
        private let lock = NSLock()
        private var slot: WGDownloadSlots.Slot?
        init(_ slot: WGDownloadSlots.Slot) { self.slot = slot }
        func drop() { lock.withLock { slot = nil } }
    }

    func refusal(_ r: Result<WGDownloadSlots.Slot, WGDownloadSlots.Refusal>) -> WGDownloadSlots.Refusal? {
        if case .failure(let why) = r { return why }
        return nil
    }

    /// Over real TLS: a client reading at 1 MB/s takes 8 s for 8 MB and gets every byte although the idle timeout
    /// is 1 s (before, the idle deadline started when the answer was queued and cut it after 1 s); a client that
    /// stops reading is cut once it took less than the minimum rate for the stall window.
    func testASlowReaderGetsTheWholeAgentAndAStalledOneIsCut() async throws {
        let dir = try makeTempDir()
        let agent = try paddedAgent(in: dir, padding: 8 << 20, compressible: false)
        let t = try TestHub(dir: dir, agent: await WGAgentBundle.load(files: [agent.path])) {
            $0.connections.idleTimeout = 1
            $0.connections.sendStallTimeout = 2
            $0.connections.minSendRate = 1024
        }
        let token = try t.token(uses: 1)
        let arch = try XCTUnwrap(WGAgentBundle.hostArch)
        try await withLiveHub(t) { base, tls in
            let pin = try XCTUnwrap(tls?.pin)
            let out = dir + "/slow"
            let started = Date()
            let slow = try await blocking {
                try runProcess(["/usr/bin/curl", "--config", "-", "--silent", "--show-error", "--fail", "--insecure", "--pinnedpubkey", pin,
                                "--limit-rate", "1M", "--output", out, "\(base)/v1/agent/\(arch)"],
                               stdin: "header = \"Authorization: Bearer \(token)\"\n")
            }
            XCTAssertEqual(slow.status, 0, slow.stderr)
            XCTAssertGreaterThan(Date().timeIntervalSince(started), 4, "it really was slow")
            XCTAssertEqual(Self.hex(try Data(contentsOf: URL(fileURLWithPath: out))), agent.sha, "every byte, although the idle timeout is 1 s")

            // A reader with a tiny receive window that stops after the head: cut within the window (2 s) and a check.
            let port = try XCTUnwrap(URL(string: base)?.port)
            let stalled = try await blocking {
                try runProcess(["/usr/bin/python3", "-c", Self.stalledReader, "\(port)", "\(arch)", "6"],
                               stdin: token)
            }
            XCTAssertEqual(stalled.status, 0, stalled.stderr)
            let got = Int(stalled.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            XCTAssertGreaterThan(got, 0, stalled.stdout + stalled.stderr)
            // What the kernel had buffered still arrives (a send buffer may grow to 4 MiB); the rest never does.
            XCTAssertLessThan(got, agent.data.count * 3 / 4, "cut before the end: \(got) of \(agent.data.count) bytes")
            XCTAssertGreaterThanOrEqual(t.hub.metrics.refusals("timeout_send"), 1)
            // The hub answers as before.
            let ok = try await blocking {
                try runProcess(["/usr/bin/curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(token)", "\(base)/v1/agent"])
            }
            XCTAssertEqual(ok.stdout, "200")
        }
    }

    /// Python's ssl: a receive buffer of 4 KiB set before connecting, the request, then no reading for N seconds;
    /// then it reads to the end and prints how many body bytes came (fewer than the size when the hub cut it).
    static let stalledReader = #"""
    import socket, ssl, sys, time
    port, arch, pause = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    token = sys.stdin.read().strip()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s)
    t.sendall(f"GET /v1/agent/{arch} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    data = t.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    time.sleep(pause)
    t.settimeout(5)
    n = len(body)
    try:
        while True:
            b = t.recv(1 << 16)
            if not b:
                break
            n += len(b)
    except (ssl.SSLError, ConnectionResetError, socket.timeout):
        pass
    print(n)
    """#
}

extension AgentDownloadTests {
    /// The bootstrap script resumes what an earlier try left (a Range request) and still checks the whole binary;
    /// pieces that do not fit together (garbage, another agent) are fetched again from zero, once.
    func testBootstrapResumesACutDownloadAndChecksTheWhole() async throws {
        let dir = try makeTempDir()
        let agent = try paddedAgent(in: dir, padding: 300_000, compressible: true)
        let t = try TestHub(dir: dir, agent: await WGAgentBundle.load(files: [agent.path])) { $0.agentDownloadLimit = 100 }
        let token = try t.token()
        let arch = try XCTUnwrap(WGAgentBundle.hostArch)
        let script = dir + "/wgagent-bootstrap"
        try WGEnrollInstructions.bootstrapScript().write(toFile: script, atomically: true, encoding: .utf8)
        let dest = dir + "/bin/wgagent"
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        try await withLiveHub(t) { base, tls in
            let pin = try XCTUnwrap(tls?.pin)
            // What the hub sends on the wire (gzip), as a first try would have begun to save it.
            let gz = dir + "/wire.gz"
            let fetched = try await blocking {
                try runProcess(["/usr/bin/curl", "--config", "-", "-sS", "--fail", "--insecure", "--pinnedpubkey", pin, "--output", gz,
                                "\(base)/v1/agent/\(arch)"], stdin: "header = \"Authorization: Bearer \(token)\"\nheader = \"Accept-Encoding: gzip\"\n")
            }
            XCTAssertEqual(fetched.status, 0, fetched.stderr)
            let wire = try Data(contentsOf: URL(fileURLWithPath: gz))
            XCTAssertLessThan(wire.count, agent.data.count / 4, "gzip on the wire")
            let run: @Sendable () throws -> ProcessResult = {
                try runProcess(["/bin/sh", script, base, pin, "\(arch)=\(agent.sha)"], environment: [
                    "WGAGENT_TOKEN": token, "WGAGENT_BOOTSTRAP_DEST": dest, "WGAGENT_BOOTSTRAP_TIMEOUT": "20", "WGAGENT_BOOTSTRAP_RETRY_DELAY": "1",
                ])
            }
            let resumedBefore = t.hub.metrics.value("wghub_agent_downloads_resumed_total")
            try wire.prefix(wire.count / 2).write(to: URL(fileURLWithPath: dir + "/bin/.wgagent.part"))
            let r = try await blocking(run)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("resuming the download at \(wire.count / 2) bytes"), r.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dest)), agent.data)
            XCTAssertEqual(t.hub.metrics.value("wghub_agent_downloads_resumed_total"), resumedBefore + 1, "a Range request, not the whole file again")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/bin"), ["wgagent"], "no part file left")

            // Garbage where the first half should be: the whole does not match, so once more from zero.
            try FileManager.default.removeItem(atPath: dest)
            try Data(repeating: 0x55, count: wire.count / 2).write(to: URL(fileURLWithPath: dir + "/bin/.wgagent.part"))
            let again = try await blocking(run)
            XCTAssertEqual(again.status, 0, again.stderr)
            XCTAssertTrue(again.stderr.contains("downloading it again from the start"), again.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dest)), agent.data)

            // A part file as long as the whole: 416 from the hub means curl keeps it as complete; it is checked.
            try FileManager.default.removeItem(atPath: dest)
            try wire.write(to: URL(fileURLWithPath: dir + "/bin/.wgagent.part"))
            let complete = try await blocking(run)
            XCTAssertEqual(complete.status, 0, complete.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dest)), agent.data)
        }
    }
}
