#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which prefix lengths a tunnel address may have when someone else (the hub) picks it. A /0 or /1 address would
/// become an AllowedIPs and a masquerade of everything; a /8 is already a very large tunnel.
public enum WGPrefixRule {
    /// Used when the profile's variable declares no `prefix` / `prefix6`.
    public static let defaultIPv4: ClosedRange<Int> = 8...32
    public static let defaultIPv6: ClosedRange<Int> = 32...128

    /// The range for `spec` (a cidr variable) and the address family.
    public static func allowed(_ spec: WGVariableSpec?, ipv6: Bool) -> ClosedRange<Int> {
        (ipv6 ? spec?.prefix6 : spec?.prefix) ?? (ipv6 ? defaultIPv6 : defaultIPv4)
    }

    /// "16-30" or a single "24", within 0…bits.
    static func parseRange(_ text: String, bits: Int) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { $0.wgTrimmed(.whitespaces) }
        guard (1...2).contains(parts.count), let lo = Int(parts[0]), let hi = Int(parts.last!), 0 <= lo, lo <= hi, hi <= bits else {
            return nil
        }
        return lo...hi
    }
}
