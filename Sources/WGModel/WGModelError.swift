/// Errors from parsing single values (keys, addresses, CIDRs, endpoints, `wg show dump` lines).
///
/// `reason` never repeats the value, so a config parser can wrap it as
/// `wg0.conf:12: AllowedIPs "10.0.0.0/33": prefix length must be 0…32`.
public enum WGModelError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Bad WireGuard key. The text itself is not kept: it may be a private key.
    case invalidKey(reason: String)
    case invalidAddress(String, reason: String)
    case invalidCIDR(String, reason: String)
    case invalidEndpoint(String, reason: String)
    case invalidDump(line: Int, reason: String)

    /// The offending text, when it is safe to show.
    public var value: String? {
        switch self {
        case .invalidKey, .invalidDump: return nil
        case .invalidAddress(let v, _), .invalidCIDR(let v, _), .invalidEndpoint(let v, _): return v
        }
    }

    /// What is wrong and how to fix it, without the value.
    public var reason: String {
        switch self {
        case .invalidKey(let r), .invalidAddress(_, let r), .invalidCIDR(_, let r),
             .invalidEndpoint(_, let r), .invalidDump(_, let r):
            return r
        }
    }

    public var description: String {
        switch self {
        case .invalidKey(let r): return "key: \(r)"
        case .invalidDump(let line, let r): return "wg show dump line \(line): \(r)"
        default: return "\"\(value ?? "")\": \(reason)"
        }
    }
}
