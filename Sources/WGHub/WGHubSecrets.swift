import Crypto
import Foundation

/// Tokens, admin tokens and agent credentials: random secrets shown once, stored only as SHA-256.
public enum WGHubSecrets {
    public static let enrollPrefix = "wgt_"
    public static let adminPrefix = "wga_"
    public static let credentialPrefix = "wgc_"

    public static func randomBytes(_ count: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()  // getrandom(2) on Linux
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
    }

    public static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Lowercase hex. By table, not String(format:): it runs on every authenticated request (profiled at 7%).
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
    private static let hexDigits = Array("0123456789abcdef".utf8)

    public static func newSecret(prefix: String) -> String { prefix + base64URL(randomBytes(32)) }

    /// Short public identifier for `token list` / `token revoke`.
    public static func newID(prefix: String) -> String { prefix + hex(randomBytes(5)) }

    /// What the store keeps instead of the secret.
    public static func hash(_ secret: String) -> String { hex(SHA256.hash(data: Data(secret.utf8))) }

    /// A one-time probe nonce.
    public static func newNonce() -> String { hex(randomBytes(16)) }

    /// Secret shape check before any lookup: printable, bounded, no whitespace.
    public static func looksLikeSecret(_ s: String) -> Bool {
        s.utf8.count >= 8 && s.utf8.count <= 128 && s.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }
}
