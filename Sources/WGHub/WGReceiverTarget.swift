import Foundation
import WGModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a webhook may post, and how its URL is shown. A receiver is a URL an admin types (or an API client sends):
/// without a check the hub posts to itself, its loopback services or the cloud metadata service (169.254.169.254)
/// and hands their answers back. Such targets are refused unless `--allow-private-receivers` says they are meant.
public enum WGReceiverTarget {
    /// Private kinds with their prefixes; an IPv4-mapped IPv6 address is looked at as its IPv4 address.
    static let privateRanges: [(WGCIDR, String)] = [
        ("127.0.0.0/8", "loopback"), ("::1/128", "loopback"),
        ("169.254.0.0/16", "link-local"), ("fe80::/10", "link-local"),
        ("0.0.0.0/8", "unspecified"), ("::/128", "unspecified"),
        ("224.0.0.0/4", "multicast"), ("ff00::/8", "multicast"), ("255.255.255.255/32", "broadcast"),
    ].map { (try! WGCIDR($0.0), $0.1) }

    /// What makes `a` no place for a webhook (loopback, link-local, unspecified, multicast, broadcast, this hub's
    /// own address); nil when it is one.
    public static func privateKind(_ a: WGIPAddress, own: [WGIPAddress]) -> String? {
        let a = unmapped(a)
        for (c, kind) in privateRanges where c.contains(a) { return kind }
        return own.contains(where: { unmapped($0) == a }) ? "this hub's own address" : nil
    }

    static func unmapped(_ a: WGIPAddress) -> WGIPAddress {
        let b = a.bytes
        guard a.isIPv6, b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xff, b[11] == 0xff else { return a }
        return .v4(Array(b[12...]))
    }

    /// Why `url`'s host is refused as a receiver (a literal private address, or `localhost`); nil when it is not.
    /// A host name is checked again when a delivery resolves it (`WGHTTPPost`).
    public static func problem(host rawHost: String, own: [WGIPAddress]) -> String? {
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") || host == "localhost." { return "\(host) is loopback" }
        guard let a = try? WGIPAddress(host) else { return nil }
        return privateKind(a, own: own).map { "\(host) is \($0)" }
    }

    /// The addresses of this machine's interfaces (getifaddrs): a receiver there is the hub posting to itself.
    public static func localAddresses() -> [WGIPAddress] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var out: [WGIPAddress] = []
        var p = head
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let sa = ifa.pointee.ifa_addr else { continue }
            if Int32(sa.pointee.sa_family) == AF_INET {
                let bytes = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    withUnsafeBytes(of: sin.pointee.sin_addr) { Array($0) }
                }
                out.append(.v4(bytes))
            } else if Int32(sa.pointee.sa_family) == AF_INET6 {
                let bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
                }
                out.append(.v6(bytes))
            }
        }
        return out
    }

    /// The hub's own addresses beyond its interfaces': the tunnel address of the pool, the endpoint's and the
    /// public URL's hosts when they are literal addresses (a hub behind NAT does not have them on an interface).
    public static func configuredAddresses(pool: String?, endpoint: String?, publicURL: String?) -> [WGIPAddress] {
        var texts: [String] = []
        if let pool, let p = try? WGAddressPool(pool) { texts.append(p.hubAddress) }
        if let endpoint, let e = try? WGEndpoint(endpoint) { texts.append(e.host) }
        if let publicURL, let h = URLComponents(string: publicURL)?.host { texts.append(h.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) }
        return texts.compactMap { try? WGIPAddress($0) }
    }

    /// A URL as it may be shown (API, CLI, logs): user info and query values masked, and so is a path segment long
    /// enough to be a secret (Slack's and ntfy's URLs carry their key in the path).
    /// `https://user:pass@h/x?k=v` → `https://***@h/x?k=***`.
    public static func masked(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.host != nil else { return url.isEmpty ? url : "***" }
        if c.percentEncodedUser != nil || c.percentEncodedPassword != nil {
            c.percentEncodedUser = "***"
            c.percentEncodedPassword = nil
        }
        c.percentEncodedPath = c.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.count >= 16 ? "***" : String($0) }.joined(separator: "/")
        if let items = c.percentEncodedQueryItems {
            c.percentEncodedQueryItems = items.map { URLQueryItem(name: $0.name, value: $0.value == nil ? nil : "***") }
        }
        c.fragment = nil
        return c.string ?? "***"
    }
}
