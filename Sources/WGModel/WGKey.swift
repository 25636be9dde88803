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
