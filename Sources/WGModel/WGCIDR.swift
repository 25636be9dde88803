/// An address with a prefix length, as wg-quick's Address and wg's AllowedIPs take them.
/// The host bits are kept as written (`192.0.2.1/24` is an interface address); use `network` for the block.
public struct WGCIDR: Hashable, Sendable, Codable, CustomStringConvertible {
    public let address: WGIPAddress
    public let prefixLength: Int

    /// "192.0.2.1/24", "2001:db8::1/64"; a bare address means /32 or /128.
    public init(_ text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let address: WGIPAddress
        do { address = try WGIPAddress(String(parts[0])) } catch let e as WGModelError {
            throw WGModelError.invalidCIDR(text, reason: e.reason)
        }
        let max = address.bitCount
        var length = max
        if parts.count == 2 {
            let p = parts[1]
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p), v <= max else {
                throw WGModelError.invalidCIDR(text, reason: "prefix length must be 0…\(max)")
            }
            length = v
        }
        self.address = address
        self.prefixLength = length
    }

    public init(address: WGIPAddress, prefixLength: Int) throws {
        guard (0...address.bitCount).contains(prefixLength) else {
            throw WGModelError.invalidCIDR("\(address)/\(prefixLength)", reason: "prefix length must be 0…\(address.bitCount)")
        }
        self.address = address
        self.prefixLength = prefixLength
    }

    private init(trusted address: WGIPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    public var isIPv6: Bool { address.isIPv6 }

    /// The same block with the host bits zeroed: 192.0.2.77/24 -> 192.0.2.0/24.
    public var network: WGCIDR {
        let masked = Self.mask(address.bytes, prefixLength)
        return WGCIDR(trusted: isIPv6 ? .v6(masked) : .v4(masked), prefixLength: prefixLength)
    }

    /// True when `a` is of the same family and inside this block.
    public func contains(_ a: WGIPAddress) -> Bool {
        guard a.isIPv6 == isIPv6 else { return false }
        // The first prefixLength bits compared in place, no masked copies: the dashboard asks this per pair of LANs.
        let x = a.bytes, y = address.bytes
        var bits = prefixLength, i = 0
        while bits > 0, i < x.count, i < y.count {
            let m = UInt8(truncatingIfNeeded: 0xFF << (8 - min(8, bits)))
            if x[i] & m != y[i] & m { return false }
            bits -= 8
            i += 1
        }
        return true
    }

    /// True when every address of `other` lies inside this block.
    public func contains(_ other: WGCIDR) -> Bool {
        other.prefixLength >= prefixLength && contains(other.address)
    }

    public var description: String { "\(address)/\(prefixLength)" }

    static func mask(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { i, b in
            let keep = min(8, max(0, length - 8 * i))
            return keep == 0 ? 0 : b & UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
    }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
