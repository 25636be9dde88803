import CCurl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// How the agent decides it is talking to its hub.
public enum WGTLSVerification: Sendable, Equatable {
    /// The system's CA bundle (a hub with a publicly trusted certificate).
    case system
    /// A CA (or the hub's self-signed certificate) in a PEM file.
    case caFile(String)
    /// `sha256//BASE64` of the hub's public key (SPKI), as `wghub serve` prints it. The certificate chain is not
    /// checked (the hub's certificate is self-signed); the key must match.
    case pin(String)
    /// Both: the chain must verify against the CA file and the key must match the pin.
    case caFileAndPin(String, String)
}

public struct WGHTTPResponse: Sendable {
    public var status: Int
    public var body: Data
}

/// The agent's HTTPS client: libcurl, JSON in and out, bearer auth, CA-file or pinned-key verification.
/// Blocking; a call leases an easy handle (the connection is reused by the next call), so one client can be
/// used from several threads.
public struct WGHTTPClient: Sendable {
    public var baseURL: String
    public var verification: WGTLSVerification
    public var allowInsecureHTTP: Bool
    public var connectTimeout: Double
    public var timeout: Double
    public var userAgent: String
    /// Longest answer body read; a longer one is `.answerTooLarge` (a refusal, not "unreachable").
    public var maxAnswerBytes: Int = 4 << 20
    let connection = WGCurlConnection()

    public init(
        baseURL: String, verification: WGTLSVerification, allowInsecureHTTP: Bool = false, connectTimeout: Double = 10,
        timeout: Double = 30, userAgent: String = "wgagent/\(WGModelVersion.agentVersion)"
    ) throws {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let lower = base.lowercased()
        if lower.hasPrefix("http://") {
            guard allowInsecureHTTP else { throw WGHTTPClientError.insecureURL(baseURL) }
        } else if !lower.hasPrefix("https://") {
            throw WGHTTPClientError.invalidURL(baseURL)
        }
        guard let comps = URLComponents(string: base), let host = comps.host, !host.isEmpty else {
            throw WGHTTPClientError.invalidURL(baseURL)
        }
        switch verification {
        case .pin(let p), .caFileAndPin(_, let p): try Self.checkPin(p)
        default: break
        }
        switch verification {
        case .caFile(let f), .caFileAndPin(let f, _):
            guard let text = try? String(contentsOfFile: f, encoding: .utf8), text.contains("-----BEGIN CERTIFICATE-----") else {
                throw WGHTTPClientError.caFileUnreadable(f)
            }
        default: break
        }
        self.baseURL = base
        self.verification = verification
        self.allowInsecureHTTP = allowInsecureHTTP
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.userAgent = userAgent
    }

    static func checkPin(_ pin: String) throws {
        guard !pin.isEmpty else { throw WGHTTPClientError.invalidPin(pin) }
        for one in pin.split(separator: ";") {
            guard one.hasPrefix("sha256//"), let d = Data(base64Encoded: String(one.dropFirst(8))), d.count == 32 else {
                throw WGHTTPClientError.invalidPin(pin)
            }
        }
    }

    // MARK: JSON calls

    /// POST JSON, decode the JSON answer; an error status throws `.hub` with the hub's error body.
    public func post<Body: Encodable, Answer: Decodable>(
        _ path: String, _ body: Body, bearer: String? = nil, as: Answer.Type = Answer.self
    ) throws -> Answer {
        let data = try JSONEncoder().encode(body)
        return try decode(try send(method: "POST", path: path, body: data, bearer: bearer), path: path)
    }

    public func get<Answer: Decodable>(_ path: String, bearer: String? = nil, as: Answer.Type = Answer.self) throws -> Answer {
        try decode(try send(method: "GET", path: path, body: nil, bearer: bearer), path: path)
    }

    func decode<Answer: Decodable>(_ r: WGHTTPResponse, path: String) throws -> Answer {
        guard (200..<300).contains(r.status) else {
            throw WGHTTPClientError.hub(status: r.status, error: try? JSONDecoder().decode(WGErrorBody.self, from: r.body), url: baseURL + path)
        }
        do { return try JSONDecoder().decode(Answer.self, from: r.body) } catch {
            throw WGHTTPClientError.decoding(url: baseURL + path, detail: Self.describe(error, body: r.body))
        }
    }

    /// A decoding error as "field keepalive: expected a number" rather than Foundation's dump.
    static func describe(_ error: any Error, body: Data) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func path(_ c: [any CodingKey]) -> String {
            c.isEmpty ? "the body" : "field " + c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch e {
        case .typeMismatch(let type, let c): return "\(path(c.codingPath)): expected \(type == Int.self || type == Int64.self ? "a number" : "\(type)")"
        case .valueNotFound(let type, let c): return "\(path(c.codingPath)): missing (null), expected \(type)"
        case .keyNotFound(let key, let c): return "\(path(c.codingPath + [key])): missing"
        case .dataCorrupted(let c):
            // Foundation on Linux reports a fraction where an Int belongs as "not valid JSON", with no field.
            if c.codingPath.isEmpty, let field = fractionField(body) { return "field \(field): expected a whole number" }
            return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    /// The first top-level field holding a number with a fraction, if the body is a JSON object.
    static func fractionField(_ body: Data) -> String? {
        // JSONDecoder, not JSONSerialization: the agent links FoundationEssentials only.
        guard let object = try? JSONDecoder().decode([String: FractionProbe].self, from: body) else { return nil }
        return object.keys.sorted().first { object[$0]?.isFraction == true }
    }

    /// Any JSON value; `isFraction` when it is a number with a fractional part.
    private struct FractionProbe: Decodable {
        let isFraction: Bool
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if (try? c.decode(Bool.self)) != nil { isFraction = false; return }
            if let v = try? c.decode(Double.self) { isFraction = v.rounded() != v } else { isFraction = false }
        }
    }

    // MARK: raw

    private static let globalInit: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// One request; any HTTP status is returned (no status check), transport failures throw.
    public func send(method: String, path: String, body: Data?, bearer: String?) throws -> WGHTTPResponse {
        _ = Self.globalInit
        let url = baseURL + path
        guard let h = connection.lease() else { throw WGHTTPClientError.transport(url: url, code: -1, detail: "curl_easy_init failed") }
        defer { connection.release(h) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        let sink = ResponseSink(limit: maxAnswerBytes)
        var headers: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headers) }

        var rc = CURLE_OK
        func set(_ r: CURLcode) { if rc == CURLE_OK { rc = r } }
        set(wg_curl_setopt_string(h, CURLOPT_URL, url))
        set(wg_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer))
        set(wg_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        set(wg_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, allowInsecureHTTP ? "http,https" : "https"))
        set(wg_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0))
        set(wg_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000)))
        set(wg_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(timeout * 1000)))
        set(wg_curl_setopt_string(h, CURLOPT_USERAGENT, userAgent))
        // A Content-Length over the limit is refused before the body is read; a chunked one by the sink below.
        set(wg_curl_setopt_off(h, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maxAnswerBytes)))
        switch verification {
        case .system:
            set(wg_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1))
            set(wg_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2))
        case .caFile(let f):
            set(wg_curl_setopt_string(h, CURLOPT_CAINFO, f))
            set(wg_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1))
            set(wg_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2))
        case .pin(let p):
            // A self-signed certificate cannot chain to anything: the pinned key is the whole check.
            set(wg_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0))
            set(wg_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0))
            set(wg_curl_setopt_string(h, CURLOPT_PINNEDPUBLICKEY, p))
        case .caFileAndPin(let f, let p):
            set(wg_curl_setopt_string(h, CURLOPT_CAINFO, f))
            set(wg_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1))
            set(wg_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2))
            set(wg_curl_setopt_string(h, CURLOPT_PINNEDPUBLICKEY, p))
        }
        headers = curl_slist_append(headers, "Accept: application/json")
        headers = curl_slist_append(headers, "Expect:")
        if let bearer { headers = curl_slist_append(headers, "Authorization: Bearer \(bearer)") }
        switch method {
        case "GET":
            set(wg_curl_setopt_long(h, CURLOPT_HTTPGET, 1))
        case "POST":
            set(wg_curl_setopt_long(h, CURLOPT_POST, 1))
        default:
            set(wg_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method))
        }
        if let body {
            headers = curl_slist_append(headers, "Content-Type: application/json")
            set(wg_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            set(body.withUnsafeBytes { raw in
                wg_curl_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(errorBuffer)))
            })
        } else if method == "POST" {
            set(wg_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, 0))
            set(wg_curl_setopt_string(h, CURLOPT_COPYPOSTFIELDS, ""))
        }
        set(wg_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headers))
        set(wg_curl_setopt_write(h, CURLOPT_WRITEFUNCTION, { ptr, size, count, userdata in
            guard let ptr, let userdata else { return 0 }
            let n = size * count
            let sink = Unmanaged<ResponseSink>.fromOpaque(userdata).takeUnretainedValue()
            if sink.data.count + n > sink.limit { sink.overflowed = true; return 0 }  // abort: answer too large
            sink.data.append(UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: n)
            return n
        }))
        set(wg_curl_setopt_pointer(h, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()))
        guard rc == CURLE_OK else {
            throw WGHTTPClientError.transport(url: url, code: Int(rc.rawValue), detail: String(cString: curl_easy_strerror(rc)))
        }
        let started = Date()
        let result = withExtendedLifetime(sink) { curl_easy_perform(h) }
        guard result == CURLE_OK else {
            if sink.overflowed || result == CURLE_FILESIZE_EXCEEDED { throw WGHTTPClientError.answerTooLarge(url: url, limit: maxAnswerBytes) }
            let detail = errorBuffer.pointee != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(result))
            // Say how long it really waited (a connect timeout ends before the total one).
            throw map(result, url: url, detail: detail, waited: Date().timeIntervalSince(started))
        }
        var status = 0
        _ = wg_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return WGHTTPResponse(status: status, body: sink.data)
    }

    func map(_ code: CURLcode, url: String, detail: String, waited: Double? = nil) -> WGHTTPClientError {
        switch code {
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            if case .pin(let p) = verification { return .pinMismatch(url: url, pin: p) }
            if case .caFileAndPin(_, let p) = verification { return .pinMismatch(url: url, pin: p) }
            return .pinMismatch(url: url, pin: "?")
        case CURLE_PEER_FAILED_VERIFICATION: return .certificateNotTrusted(url: url, detail: detail)
        case CURLE_SSL_CACERT_BADFILE:
            if case .caFile(let f) = verification { return .caFileUnreadable(f) }
            if case .caFileAndPin(let f, _) = verification { return .caFileUnreadable(f) }
            return .transport(url: url, code: Int(code.rawValue), detail: detail)
        case CURLE_COULDNT_RESOLVE_HOST: return .couldNotResolve(url: url)
        case CURLE_COULDNT_CONNECT: return .couldNotConnect(url: url, detail: detail)
        case CURLE_OPERATION_TIMEDOUT: return .timedOut(url: url, seconds: ((waited ?? timeout) * 10).rounded() / 10)
        case CURLE_SSL_CONNECT_ERROR: return .tlsHandshake(url: url, detail: detail)
        case CURLE_UNSUPPORTED_PROTOCOL: return .insecureURL(url)
        default: return .transport(url: url, code: Int(code.rawValue), detail: detail)
        }
    }
}

/// Collects the response body for the write callback, at most `limit` bytes.
final class ResponseSink {
    let limit: Int
    var data = Data()
    /// Set when the body went over the limit (curl then reports a write error).
    var overflowed = false
    init(limit: Int) { self.limit = limit }
}

extension WGHTTPClientError {
    /// The hub could not be reached at all (name, route, timeout): worth retrying later, unlike a refusal.
    public var isUnreachable: Bool {
        switch self {
        case .couldNotResolve, .couldNotConnect, .timedOut, .transport: return true
        default: return false
        }
    }
}
