import Foundation
import Hummingbird
import NIOCore

/// How many agent downloads may be sent at once: overall, from one address and from one /24 (/64). Beyond them
/// the answer is 503 with `Retry-After` (the bootstrap script waits and tries again).
public struct WGDownloadLimits: Sendable, Equatable {
    public var total: Int
    public var perAddress: Int
    public var perNetwork: Int
    /// Seconds a refused client is told to wait.
    public var retryAfter: Int

    public init(total: Int = 32, perAddress: Int = 4, perNetwork: Int = 16, retryAfter: Int = 15) {
        self.total = total
        self.perAddress = perAddress
        self.perNetwork = perNetwork
        self.retryAfter = retryAfter
    }
}

/// The downloads being sent now. A slot is held for as long as its answer's body lives, so one that is never
/// written (the connection closed first) gives its place back too.
public final class WGDownloadSlots: @unchecked Sendable {
    public enum Refusal: String, Error, Sendable {
        case total = "agent_download_busy", address = "agent_download_busy_address", network = "agent_download_busy_network"
    }

    final class Slot: @unchecked Sendable {
        let slots: WGDownloadSlots
        let address: String
        let network: String
        init(_ slots: WGDownloadSlots, _ address: String, _ network: String) {
            self.slots = slots
            self.address = address
            self.network = network
        }
        deinit { slots.release(address, network) }
    }

    private let lock = NSLock()
    private var total = 0
    private var perAddress: [String: Int] = [:]
    private var perNetwork: [String: Int] = [:]
    let limits: WGDownloadLimits

    public init(limits: WGDownloadLimits) { self.limits = limits }

    func acquire(_ address: String) -> Result<Slot, Refusal> {
        let network = WGFailureRateLimiter.network(address)
        return lock.withLock {
            if total >= limits.total { return .failure(.total) }
            if perAddress[address, default: 0] >= limits.perAddress { return .failure(.address) }
            if perNetwork[network, default: 0] >= limits.perNetwork { return .failure(.network) }
            total += 1
            perAddress[address, default: 0] += 1
            perNetwork[network, default: 0] += 1
            return .success(Slot(self, address, network))
        }
    }

    private func release(_ address: String, _ network: String) {
        lock.withLock {
            total -= 1
            let a = perAddress[address, default: 1] - 1
            perAddress[address] = a > 0 ? a : nil
            let n = perNetwork[network, default: 1] - 1
            perNetwork[network] = n > 0 ? n : nil
        }
    }

    public var active: Int { lock.withLock { total } }
}

/// A `Range` header against a body of `size` bytes (RFC 9110 §14): one range is served, several or a malformed
/// header get the whole body (allowed), a start past the end is unsatisfiable (416).
enum WGByteRange: Equatable {
    case whole
    case part(Range<Int>)
    case unsatisfiable

    static func parse(_ header: String?, size: Int) -> WGByteRange {
        guard let header else { return .whole }
        let value = header.trimmingCharacters(in: .whitespaces)
        guard value.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = value.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        func number(_ s: String) -> Int? { s.isEmpty || s.count > 18 || !s.allSatisfy(\.isASCII) ? nil : Int(s) }
        if first.isEmpty {  // the last N bytes
            guard let n = number(last) else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return n >= size ? .whole : .part((size - n)..<size)
        }
        guard let start = number(first) else { return .whole }
        let end: Int
        if last.isEmpty {
            end = size - 1
        } else {
            guard let e = number(last), e >= start else { return .whole }
            end = min(e, size - 1)
        }
        guard start < size else { return .unsatisfiable }
        return start == 0 && end == size - 1 ? .whole : .part(start..<(end + 1))
    }
}

/// What `GET /v1/agent/ARCH` answers: the binary, or its gzip form (`Content-Encoding: gzip`, compressed once at
/// start) when the client accepts it; `HEAD` (Hummingbird answers it from this route, without the body) and single
/// `Range` requests, so a cut download resumes; the checksum header always names the binary the site will run. The
/// bytes go out from the one shared buffer in slices, each written only when the connection can take it (the
/// writer waits while the channel is not writable): a client that stops reading holds a slot and little memory,
/// not a copy of the file, until the progress deadline (`WGRequestDeadlines`) cuts it.
public struct WGAgentDownloads: Sendable {
    public let bundle: WGAgentBundle
    let slots: WGDownloadSlots
    let perMinute: WGWindowCounter
    let metrics: WGHubMetrics
    static let chunk = 64 * 1024
    /// Bytes of a download that may wait unsent above TLS (plus TLS records and the kernel's socket buffer).
    static let window = 256 * 1024

    init(bundle: WGAgentBundle, limits: WGDownloadLimits, perMinute: Int, metrics: WGHubMetrics) {
        self.bundle = bundle
        self.slots = WGDownloadSlots(limits: limits)
        self.perMinute = WGWindowCounter(limit: perMinute, window: 60)
        self.metrics = metrics
    }

    /// The binary for `arch`, or the 404 that says what is missing.
    func binary(_ arch: String) throws -> WGAgentBinary {
        guard let info = bundle.info else { throw WGHubError.agentMissing }
        guard let b = bundle.binaries[arch] else {
            throw WGHubError(404, "agent_arch_unknown",
                             "no agent for architecture \"\(arch.prefix(20))\": this hub serves \(info.architectures.keys.sorted().joined(separator: ", ")) (add one with --agent-binary FILE)")
        }
        return b
    }

    /// The answer to a download (or `HEAD`) of `arch` from `client`; the caller has checked the bearer.
    func answer(_ request: Request, arch: String, client: String, gate: WGSendGate?) throws -> Response {
        let binary = try binary(arch)
        let gzip = binary.gzip != nil && Self.acceptsGzip(request.headers[.acceptEncoding])
        let bytes = gzip ? binary.gzip! : binary.bytes
        let size = bytes.readableBytes
        let etag = "\"\(binary.info.sha256.prefix(32))\(gzip ? "-gzip" : "")\""
        var headers: HTTPFields = [
            .contentType: "application/octet-stream", .cacheControl: "no-store", .acceptRanges: "bytes", .eTag: etag,
            .contentDisposition: "attachment; filename=\"wgagent\"", agentChecksumHeader: binary.info.sha256,
            .vary: "Accept-Encoding",
        ]
        if gzip { headers[.contentEncoding] = "gzip" }
        // If-Range with another representation's tag: the whole body, never a mix of two.
        let ifRange = request.headers[.ifRange]
        let range = ifRange == nil || ifRange == etag ? WGByteRange.parse(request.headers[.range], size: size) : .whole
        if request.method == .head {
            headers[.contentLength] = "\(size)"
            return Response(status: .ok, headers: headers)
        }
        if case .unsatisfiable = range {
            headers[.contentRange] = "bytes */\(size)"
            headers[.contentLength] = "0"
            metrics.refusal("agent_range_unsatisfiable")
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        guard perMinute.take(client) else { throw WGHubError.agentDownloadLimited }
        let slot: WGDownloadSlots.Slot
        switch slots.acquire(client) {
        case .success(let s): slot = s
        case .failure(let why):
            metrics.refusal(why.rawValue)
            throw WGHubError(503, why.rawValue, Self.busyMessage(why, slots.limits), retryAfter: slots.limits.retryAfter)
        }
        let status: HTTPResponse.Status
        let sending: Range<Int>
        if case .part(let r) = range {
            (status, sending) = (.partialContent, r)
            headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(size)"
            metrics.count("wghub_agent_downloads_resumed_total")
        } else {
            (status, sending) = (.ok, 0..<size)
        }
        headers[.contentLength] = "\(sending.count)"
        metrics.count("wghub_agent_downloads_total")
        if gzip { metrics.count("wghub_agent_downloads_gzip_total") }
        let metrics = self.metrics
        let body = ResponseBody(contentLength: sending.count) { writer in
            // The slot is given back when this body is gone (sent, cut, or never written).
            defer { withExtendedLifetime(slot) {} }
            var at = sending.lowerBound
            while at < sending.upperBound {
                let n = min(Self.chunk, sending.upperBound - at)
                // A slice shares the buffer's storage; the write waits while the connection cannot take it.
                try await writer.write(bytes.getSlice(at: bytes.readerIndex + at, length: n)!)
                // Then wait until the connection took all but `window` of it: memory per download stays bounded.
                try await gate?.drained(atMost: Self.window)
                metrics.count("wghub_agent_download_bytes_total", by: n)
                at += n
            }
            try await writer.finish(nil)
            metrics.count("wghub_agent_downloads_completed_total")
        }
        return Response(status: status, headers: headers, body: body)
    }

    static func busyMessage(_ why: WGDownloadSlots.Refusal, _ l: WGDownloadLimits) -> String {
        let which: String
        switch why {
        case .total: which = "\(l.total) agent downloads are being sent (--max-downloads)"
        case .address: which = "\(l.perAddress) agent downloads are being sent to this address (--max-downloads-per-ip)"
        case .network: which = "\(l.perNetwork) agent downloads are being sent to this /24 (/64) (--max-downloads-per-network)"
        }
        return "\(which): try again in \(l.retryAfter) s"
    }

    /// Whether `Accept-Encoding` takes gzip (`gzip` or `*`, not with `q=0`).
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        var gzip: Bool?
        var star: Bool?
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let name = parts.first else { continue }
            let q = parts.dropFirst().first(where: { $0.hasPrefix("q=") }).flatMap { Double($0.dropFirst(2)) } ?? 1
            if name == "gzip" || name == "x-gzip" { gzip = q > 0 } else if name == "*" { star = q > 0 }
        }
        return gzip ?? star ?? false
    }
}
