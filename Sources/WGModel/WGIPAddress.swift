/// An IPv4 or IPv6 address, kept as raw bytes (4 or 16). `description` is canonical:
/// dotted quad for IPv4, RFC 5952 for IPv6 (lower case, longest zero run compressed).
public enum WGIPAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    case v4([UInt8])
    case v6([UInt8])

    public init(_ text: String) throws {
        if text.contains(":") {
            guard let b = Self.parseV6(text) else {
                let hint = text.contains("%") ? " (zone ids like %eth0 are not allowed)"
                    : text.hasPrefix("[") ? " (write it without brackets)" : ""
                throw WGModelError.invalidAddress(text, reason: "not an IPv6 address\(hint): write it like 2001:db8::1")
            }
            self = .v6(b)
        } else {
            guard let b = Self.parseV4(text) else {
                throw WGModelError.invalidAddress(text, reason: "not an IPv4 address: write four numbers 0…255 without leading zeros, like 192.0.2.1")
            }
            self = .v4(b)
        }
    }

    public var bytes: [UInt8] {
        switch self { case .v4(let b), .v6(let b): return b }
    }

    public var isIPv6: Bool { if case .v6 = self { return true } else { return false } }

    /// Bit width of the address family (32 or 128).
    public var bitCount: Int { isIPv6 ? 128 : 32 }

    public var description: String {
        switch self {
        case .v4(let b): return b.map(String.init).joined(separator: ".")
        case .v6(let b): return Self.formatV6(b)
        }
    }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    // MARK: parsing

    static func parseV4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            // Leading zeros are refused: some tools read them as octal (010 == 8).
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  p == "0" || !p.hasPrefix("0"), let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    static func parseV6(_ text: String) -> [UInt8]? {
        var s = Substring(text)
        var tail: [UInt8] = []
        // An embedded IPv4 tail (::ffff:192.0.2.1) fills the last two groups.
        if let lastColon = s.lastIndex(of: ":"), s[s.index(after: lastColon)...].contains(".") {
            guard let v4 = parseV4(String(s[s.index(after: lastColon)...])) else { return nil }
            tail = v4
            s = s[...lastColon]
            if s.hasSuffix("::") { /* keep */ } else { s = s.dropLast() }
        }
        let maxGroups = tail.isEmpty ? 8 : 6
        let halves = s.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for g in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, g.allSatisfy(\.isHexDigit), let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        var words: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0]), let rest = groups(halves[1]),
                  head.count + rest.count < maxGroups else { return nil }
            words = head + [UInt16](repeating: 0, count: maxGroups - head.count - rest.count) + rest
        } else {
            guard let all = groups(halves[0]), all.count == maxGroups else { return nil }
            words = all
        }
        var out: [UInt8] = []
        for w in words { out.append(UInt8(w >> 8)); out.append(UInt8(w & 0xFF)) }
        return out + tail
    }

    static func formatV6(_ b: [UInt8]) -> String {
        let words = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        // IPv4-mapped addresses keep the dotted tail (RFC 5952 §5).
        if words[0..<5].allSatisfy({ $0 == 0 }) && words[5] == 0xFFFF {
            return "::ffff:" + b[12...].map(String.init).joined(separator: ".")
        }
        // Longest run of two or more zero groups; the first one wins a tie (RFC 5952 §4.2.3).
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if words[i] == 0 {
                var j = i
                while j < 8 && words[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        let hex = words.map { String($0, radix: 16) }
        if bestStart < 0 { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLen)...].joined(separator: ":")
        return head + "::" + tail
    }
}

extension Substring {
    /// Split on a multi-character separator (no Foundation).
    func components(separatedBy sep: String) -> [Substring] {
        var out: [Substring] = []
        var rest = self[...]
        while let r = rest.firstRange(of: sep) {
            out.append(rest[..<r.lowerBound])
            rest = rest[r.upperBound...]
        }
        out.append(rest)
        return out
    }
}
