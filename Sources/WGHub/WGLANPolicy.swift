import WGModel

/// What the hub does with one LAN prefix a site announced.
public struct WGLANRoute: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Granted and safe: in the peer's allowed-ips, routed through the tunnel.
        case routed
        /// Announced but not granted: nothing is routed until a token or an admin grants it.
        case pending
        /// Never routed as it is: `reason` says why.
        case refused
    }
    public var prefix: String
    public var state: State
    public var reason: String?
}

/// Routes are granted, not claimed: a site's LAN prefix is routed only when a token or an admin granted it, and
/// never when it is wider than the limit, overlaps the pool, the hub's own networks or gateway, another site's
/// LAN, or holds the address the hub reaches the site at.
public struct WGLANPolicy: Sendable {
    public var pool: WGAddressPool
    /// The shortest prefix length a site's LAN may have (IPv4 / IPv6).
    public var shortestPrefix4: Int
    public var shortestPrefix6: Int
    public var host: WGHostNetworks

    public init(pool: WGAddressPool, shortestPrefix4: Int = 16, shortestPrefix6: Int = 48, host: WGHostNetworks = .init()) {
        self.pool = pool
        self.shortestPrefix4 = shortestPrefix4
        self.shortestPrefix6 = shortestPrefix6
        self.host = host
    }

    /// A site's LAN that is granted and announced (what it may have routed), parsed once for many decisions.
    public struct Claim: Sendable {
        var siteID: Int64
        var hostname: String
        var text: String
        var cidr: WGCIDR
    }

    /// The claims of `sites`, in their order. For a decision per site over all sites (the dashboard, reconcile):
    /// parsing each other site's LANs per decision made 1,000 sites' table O(n²) in parsing (profiled: ~0.5 s).
    public static func claims(_ sites: [WGSite]) -> [Claim] {
        sites.flatMap { o in
            Set(o.lanGranted).intersection(o.lanSubnets).sorted().compactMap { t in
                (try? WGCIDR(t)).map { Claim(siteID: o.id, hostname: o.hostname, text: t, cidr: $0) }
            }
        }
    }

    /// One verdict per announced prefix of `site`. `others` are the other sites; where two sites' granted LANs
    /// overlap, the older site (lower id) keeps the route.
    public func decide(_ site: WGSite, others: [WGSite]) -> [WGLANRoute] {
        decide(site, claims: Self.claims(others))
    }

    /// As `decide(_:others:)`, with the LANs of the sites parsed once (`claims`; the site's own may be among them:
    /// only older sites' count).
    public func decide(_ site: WGSite, claims: [Claim]) -> [WGLANRoute] {
        let granted = Set(site.lanGranted)
        let via = site.observedAddress.flatMap { try? WGIPAddress($0) }
        return site.lanSubnets.map { text in
            guard let p = try? WGCIDR(text) else { return WGLANRoute(prefix: text, state: .refused, reason: "not a prefix") }
            if let why = refusal(p, via: via, siteID: site.id, claims: claims) {
                return WGLANRoute(prefix: text, state: .refused, reason: why)
            }
            if granted.contains(text) { return WGLANRoute(prefix: text, state: .routed, reason: nil) }
            return WGLANRoute(prefix: text, state: .pending,
                              reason: "not granted: `wghub site grant \(site.id) \(text)` (or a token made with --lan) routes it")
        }
    }

    public func routed(_ site: WGSite, others: [WGSite]) -> [String] {
        routed(site, claims: Self.claims(others))
    }

    public func routed(_ site: WGSite, claims: [Claim]) -> [String] {
        decide(site, claims: claims).filter { $0.state == .routed }.map(\.prefix)
    }

    /// Why `p` may never be routed for this site as things are; nil when it may (once granted).
    func refusal(_ p: WGCIDR, via: WGIPAddress?, siteID: Int64, claims: [Claim]) -> String? {
        if let why = Self.neverRouted(p) { return why }
        let shortest = p.isIPv6 ? shortestPrefix6 : shortestPrefix4
        if p.prefixLength < shortest { return "wider than /\(shortest): announce or grant a narrower prefix" }
        if p.overlaps(pool.cidr) { return "overlaps the tunnel pool \(pool)" }
        for gw in host.gateways where p.contains(gw) { return "holds the hub's default gateway \(gw)" }
        for n in host.networks where p.overlaps(n.cidr) {
            return "overlaps the hub's own network \(n.cidr)\(n.device.isEmpty ? "" : " on \(n.device)")"
        }
        if let via, p.contains(via) { return "holds \(via), the address the hub reaches this site at" }
        for c in claims where c.siteID < siteID && c.cidr.overlaps(p) {
            return "overlaps \(c.text), the LAN of site \(c.siteID) (\(c.hostname))"
        }
        return nil
    }

    /// Link-local and multicast prefixes are never a site's LAN, granted or not: 169.254.169.254 is the hub's own
    /// cloud metadata service, fe80::/10 is on every link, and multicast is no destination to route to one peer.
    static let neverRoutable: [(WGCIDR, String)] = [
        ("169.254.0.0/16", "link-local"), ("fe80::/10", "link-local"), ("224.0.0.0/4", "multicast"), ("ff00::/8", "multicast"),
    ].map { (try! WGCIDR($0.0), $0.1) }

    static func neverRouted(_ p: WGCIDR) -> String? {
        for (c, kind) in neverRoutable where c.isIPv6 == p.isIPv6 && c.overlaps(p) {
            return "\(kind) (\(c)): never routed through the tunnel"
        }
        return nil
    }

    /// Checks a prefix an admin or a token grants: well-formed, a network, within the width limit, not the pool.
    public func checkGrant(_ text: String) throws -> String {
        let c: WGCIDR
        do { c = try WGCIDR(text) } catch { throw WGHubError.invalid("lan", "\(error)") }
        guard text.contains("/") else { throw WGHubError.invalid("lan", "\"\(text)\" needs a prefix length, e.g. 198.51.100.0/24") }
        guard c.network == c else { throw WGHubError.invalid("lan", "\"\(text)\" has host bits set; did you mean \(c.network)?") }
        if let why = Self.neverRouted(c) { throw WGHubError.invalid("lan", "\"\(text)\" is \(why)") }
        let shortest = c.isIPv6 ? shortestPrefix6 : shortestPrefix4
        guard c.prefixLength >= shortest else { throw WGHubError.invalid("lan", "\"\(text)\" is wider than /\(shortest)") }
        guard !c.overlaps(pool.cidr) else { throw WGHubError.invalid("lan", "\"\(text)\" overlaps the tunnel pool \(pool)") }
        return c.description
    }
}
