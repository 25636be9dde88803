import WGModel

/// What went wrong, phrased so the operator knows what to do next.
public enum WGHTTPClientError: Error, CustomStringConvertible, Equatable, Sendable {
    case insecureURL(String)
    case invalidURL(String)
    case invalidPin(String)
    case pinMismatch(url: String, pin: String)
    case certificateNotTrusted(url: String, detail: String)
    case caFileUnreadable(String)
    case couldNotResolve(url: String)
    case couldNotConnect(url: String, detail: String)
    case timedOut(url: String, seconds: Double)
    case tlsHandshake(url: String, detail: String)
    case transport(url: String, code: Int, detail: String)
    /// The hub answered with an error status; `error` is its JSON body when it sent one.
    case hub(status: Int, error: WGErrorBody?, url: String)
    case decoding(url: String, detail: String)
    /// The answer was longer than the client reads (`maxAnswerBytes`): not an answer the hub sends.
    case answerTooLarge(url: String, limit: Int)

    public var description: String {
        switch self {
        case .insecureURL(let u):
            return "refusing \(u): the hub URL must start with https:// (plain HTTP only with --insecure, also spelled --allow-insecure-http, when the hub runs with --insecure-http)"
        case .invalidURL(let u):
            return "\"\(u)\" is not a hub URL: write it like https://hub.example.net:8443"
        case .invalidPin(let p):
            return "pin \"\(p)\" is not of the form sha256//BASE64 (44 characters after sha256//): copy it from `wghub serve` or `wghub token create`"
        case .pinMismatch(let u, let p):
            return "the hub's key does not match --pin \(p) (\(u)): check the pin printed by `wghub serve` on the hub, or whether something is intercepting the connection"
        case .certificateNotTrusted(let u, let d):
            return "the hub's certificate is not trusted (\(u)): \(d); pass --ca-file with the hub's certificate or --pin with its key pin"
        case .caFileUnreadable(let p):
            return "the CA file \(p) cannot be read or holds no certificate: copy the hub's certificate (hub-cert.pem in its data folder)"
        case .couldNotResolve(let u):
            return "cannot resolve the hub's host name in \(u): check the URL and this machine's DNS"
        case .couldNotConnect(let u, let d):
            return "cannot connect to \(u): \(d); is `wghub serve` running there and the port open in its firewall?"
        case .timedOut(let u, let s):
            return "no answer from \(u) within \(s) s: check the network path and the hub's load"
        case .tlsHandshake(let u, let d):
            return "TLS handshake with \(u) failed: \(d); is it an HTTPS port (not --insecure-http)?"
        case .transport(let u, let c, let d):
            return "request to \(u) failed (curl error \(c)): \(d)"
        case .hub(let status, let body, let u):
            if let body { return "the hub refused (\(status) \(body.error)) \(u): \(body.message)" }
            return "the hub answered \(status) for \(u)"
        case .decoding(let u, let d):
            return "the answer from \(u) is not what this agent expects (\(d)): are agent and hub versions compatible?"
        case .answerTooLarge(let u, let limit):
            return "the answer from \(u) is larger than \(Self.size(limit)), the most this agent reads for it: that is no answer "
                + "wghub sends; check that the URL and pin are your hub's and that agent and hub versions are compatible"
        }
    }

    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? "\(bytes >> 10) KiB" : "\(bytes) bytes"
    }

    /// The HTTP status when the hub answered with an error.
    public var hubStatus: Int? { if case .hub(let s, _, _) = self { return s } else { return nil } }
    /// The curl error code for transport failures (90 for a wrong pin, 60 for an untrusted certificate).
    public var curlCode: Int? {
        switch self {
        case .pinMismatch: return 90
        case .certificateNotTrusted: return 60
        case .transport(_, let c, _): return c
        default: return nil
        }
    }
}
