import WGModel

/// The tunnel address pool: an IPv4 or IPv6 prefix (a `WGCIDR`). The hub takes the first host address,
/// sites the lowest free ones after it, never the network or (IPv4) broadcast address.
public struct WGAddressPool: Sendable, Equatable, CustomStringConvertible {
    public let cidr: WGCIDR
    // Stored as two halves, not a UInt128: a 16-byte-aligned value inside this struct corrupted async frames that
    // carry it (Swift 6.3 on Linux: the hub crashed in `enroll` with a null job once the pool rode in a parameter).
    private let baseHigh: UInt64
    private let baseLow: UInt64
    private var base: UInt128 { UInt128(baseHigh) << 64 | UInt128(baseLow) }

    public init(_ text: String) throws {
        let parsed: WGCIDR
        do { parsed = try WGCIDR(text) } catch { throw WGPoolError("--pool: \(error)") }
        guard text.contains("/") else { throw WGPoolError("--pool \"\(text)\": give a prefix length, e.g. 192.0.2.0/24") }
        guard parsed.address.bitCount - parsed.prefixLength >= 2 else {
            throw WGPoolError("--pool \"\(text)\": too small, it needs room for the hub and at least one site (at most /\(parsed.address.bitCount - 2))")
        }
        guard parsed.network == parsed else {
            throw WGPoolError("--pool \"\(text)\": host bits are set; did you mean \(parsed.network)?")
        }
        cidr = parsed
        let b = Self.value(parsed.address)
        baseHigh = UInt64(truncatingIfNeeded: b >> 64)
        baseLow = UInt64(truncatingIfNeeded: b)
    }

    public var isIPv6: Bool { cidr.isIPv6 }
    public var prefixLength: Int { cidr.prefixLength }
    public var description: String { cidr.description }

    /// Highest usable offset from the network address.
    var lastOffset: UInt128 {
        let hostBits = cidr.address.bitCount - cidr.prefixLength
        let top: UInt128 = hostBits >= 128 ? ~UInt128(0) : (UInt128(1) << hostBits) - 1
        return isIPv6 ? top : top - 1
    }

    public var hubAddress: String { address(at: 1) }

    public func address(at offset: UInt128) -> String {
        let v = base + offset
        let count = isIPv6 ? 16 : 4
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: v >> (8 * (count - 1 - $0))) }
        return (isIPv6 ? WGIPAddress.v6(bytes) : WGIPAddress.v4(bytes)).description
    }

    /// `ADDRESS/prefix`, as the agent puts it on its interface.
    public func withPrefix(_ address: String) -> String { "\(address)/\(prefixLength)" }

    /// `ADDRESS/32` or `/128`: the site's own entry in the hub's AllowedIPs.
    public func hostRoute(_ address: String) -> String { "\(address)/\(isIPv6 ? 128 : 32)" }

    public func contains(_ address: String) -> Bool {
        guard let a = try? WGIPAddress(address) else { return false }
        return cidr.contains(a)
    }

    /// Lowest free site address (the hub's is never handed out); nil when the pool is full.
    public func firstFree(excluding used: Set<String>) -> String? {
        // Among used.count + 1 consecutive slots at least one is free, so the walk is bounded.
        let limit = min(lastOffset, UInt128(used.count) + 2)
        var offset: UInt128 = 2
        while offset <= limit {
            let a = address(at: offset)
            if !used.contains(a) { return a }
            offset += 1
        }
        return nil
    }

    static func value(_ a: WGIPAddress) -> UInt128 { a.bytes.reduce(UInt128(0)) { ($0 << 8) | UInt128($1) } }
}

public struct WGPoolError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
