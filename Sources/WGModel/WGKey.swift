import CSodium

/// A Curve25519 key as WireGuard uses it (private, public or preshared): 32 bytes, 44 base64 chars.
///
/// `description` never prints the key, so keys do not leak into logs by accident; ask for `base64`.
public struct WGKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount else {
            throw WGModelError.invalidKey(reason: "a key is 32 bytes, got \(bytes.count): create one with `wg genkey` (or `wg genpsk`)")
        }
        self.bytes = bytes
    }

    /// Accepts what `wg` accepts: exactly 44 characters of padded base64 ending in `=`.
    public init(base64: String) throws {
        // The text is not echoed in errors: it may be a private key.
        let n = base64.utf8.count
        guard n == 44 else {
            let hint = base64.contains(where: { $0 == " " || $0 == "\n" || $0 == "\t" })
                ? " (it contains whitespace: remove it)" : ""
            throw WGModelError.invalidKey(reason: "a key is 44 base64 characters, got \(n)\(hint): copy it whole from `wg genkey` / `wg pubkey`")
        }
        guard base64.hasSuffix("="), !base64.hasSuffix("=="), let raw = WGBase64.decode(base64), raw.count == 32 else {
            throw WGModelError.invalidKey(reason: "not valid base64 for a 32-byte key (A–Z a–z 0–9 + /, one trailing `=`): copy it whole from `wg genkey` / `wg pubkey`")
        }
        self.bytes = raw
    }

    public var base64: String { WGBase64.encode(bytes) }

    public var description: String { "WGKey(…)" }

    /// A fresh private key, exactly as `wg genkey` makes one: random bytes, then clamped.
    public static func generatePrivate() -> WGKey {
        WGSodium.ready()
        var k = [UInt8](repeating: 0, count: byteCount)
        k.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, byteCount) }
        clamp(&k)
        return WGKey(trusted: k)
    }

    /// A fresh preshared key, as `wg genpsk` makes one (random, not clamped).
    public static func generatePreshared() -> WGKey {
        WGSodium.ready()
        var k = [UInt8](repeating: 0, count: byteCount)
        k.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, byteCount) }
        return WGKey(trusted: k)
    }

    /// The public key for this private key, as `wg pubkey` computes it.
    /// libsodium clamps the scalar itself, as `wg pubkey` does, so unclamped input works too.
    public var publicKey: WGKey {
        WGSodium.ready()
        var q = [UInt8](repeating: 0, count: Self.byteCount)
        _ = q.withUnsafeMutableBufferPointer { qp in
            bytes.withUnsafeBufferPointer { np in
                crypto_scalarmult_curve25519_base(qp.baseAddress!, np.baseAddress!)
            }
        }
        return WGKey(trusted: q)
    }

    /// True when the private-key clamping bits are set the way `wg genkey` leaves them.
    public var isClamped: Bool {
        bytes[0] & 7 == 0 && bytes[31] & 0x80 == 0 && bytes[31] & 0x40 != 0
    }

    static func clamp(_ k: inout [UInt8]) {
        k[0] &= 248
        k[31] &= 127
        k[31] |= 64
    }

    private init(trusted bytes: [UInt8]) { self.bytes = bytes }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(base64: text)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(base64)
    }
}

/// sodium_init must run once before the other calls; a global `let` gives thread-safe once.
enum WGSodium {
    private static let initialised: Bool = sodium_init() >= 0

    static func ready() {
        precondition(initialised, "libsodium failed to initialise (sodium_init < 0): no usable random source on this system")
    }
}

extension WGKey {
    /// True for a public key no honest peer has: a point of small order on Curve25519 (all zero among them), whose
    /// shared secret with any private key is all zero. WireGuard would accept such a peer, but it proves nothing
    /// and collides with every other weak key. The list is libsodium's (`has_small_order`): the u-coordinates 0,
    /// 1, p−1 and the two of order 8, and the non-canonical p and p+1; the top bit is ignored as X25519 ignores it.
    public var isWeakPublicKey: Bool {
        var u = bytes
        u[31] &= 0x7f
        return Self.smallOrder.contains(u)
    }

    static let smallOrder: [[UInt8]] = {
        let ff = [UInt8](repeating: 0xff, count: 30)
        return [
            [UInt8](repeating: 0, count: 32),
            [1] + [UInt8](repeating: 0, count: 31),
            [0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
             0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00],
            [0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
             0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57],
            [0xec] + ff + [0x7f],  // p − 1
            [0xed] + ff + [0x7f],  // p
            [0xee] + ff + [0x7f],  // p + 1
        ]
    }()
}
