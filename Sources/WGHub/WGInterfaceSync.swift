import WGModel

/// Brings the interface in line with the store. What is routed for a site is the policy's decision
/// (`WGLANPolicy`): granted, announced and safe; everything else stays out of allowed-ips and the routing table.
public struct WGInterfaceSync: Sendable {
    public let control: any WGInterfaceControl
    public let pool: WGAddressPool

    public init(control: any WGInterfaceControl, pool: WGAddressPool) {
        self.control = control
        self.pool = pool
    }

    public func allowedIPs(for site: WGSite, routed: [String]) -> [String] { [pool.hostRoute(site.address)] + routed }

    /// After an enrollment: one `wg set` for this peer, routes for its routed LANs, stale routes dropped.
    public func apply(_ outcome: WGEnrollOutcome) throws {
        try control.setPeer(publicKey: outcome.site.publicKey, allowedIPs: allowedIPs(for: outcome.site, routed: outcome.routed))
        for subnet in outcome.routed { try control.addRoute(subnet) }
        for old in outcome.previousRouted where !outcome.routed.contains(old) { try control.removeRoute(old) }
    }

    /// After a grant changed: the same for one site whose routed set went from `before` to `after`.
    public func update(_ site: WGSite, routed after: [String], before: [String]) throws {
        try control.setPeer(publicKey: site.publicKey, allowedIPs: allowedIPs(for: site, routed: after))
        for subnet in after { try control.addRoute(subnet) }
        for old in before where !after.contains(old) { try control.removeRoute(old) }
    }

    public func remove(_ site: WGSite, routed: [String]) throws {
        try control.removePeer(publicKey: site.publicKey)
        for subnet in routed { try control.removeRoute(subnet) }
    }

    public struct Report: Sendable, Equatable {
        public var added: [String] = []
        public var updated: [String] = []
        public var removed: [String] = []
        public var unchanged: [String] = []
        /// Routes on the interface that no site has routed any more (e.g. claimed before routes were granted).
        public var routesRemoved: [String] = []
    }

    /// On start (and when the CLI changed the store): add missing peers, fix wrong allowed-ips, remove peers the
    /// store does not know and routes on the interface no site has routed. Peers already right are not touched,
    /// so their sessions (handshake, counters) go on.
    @discardableResult
    public func reconcile(sites: [WGSite], policy: WGLANPolicy) throws -> Report {
        let dump = try control.dump()
        var report = Report()
        var live: [String: Set<String>] = [:]
        for p in dump.peers { live[p.publicKey.base64] = Set(p.allowedIPs.map { $0.network.description }) }
        var wantedRoutes = Set<String>()
        let claims = WGLANPolicy.claims(sites)  // parsed once, not once per site
        for site in sites {
            let routed = policy.routed(site, claims: claims)
            let want = allowedIPs(for: site, routed: routed)
            let wantSet = Set(want.compactMap { try? WGCIDR($0).network.description })
            if let have = live[site.publicKey] {
                if have == wantSet {
                    report.unchanged.append(site.publicKey)
                } else {
                    try control.setPeer(publicKey: site.publicKey, allowedIPs: want)
                    report.updated.append(site.publicKey)
                }
            } else {
                try control.setPeer(publicKey: site.publicKey, allowedIPs: want)
                report.added.append(site.publicKey)
            }
            for subnet in routed { try control.addRoute(subnet); wantedRoutes.insert(subnet) }
        }
        let known = Set(sites.map(\.publicKey))
        for key in live.keys.sorted() where !known.contains(key) {
            try control.removePeer(publicKey: key)
            report.removed.append(key)
        }
        for route in policy.host.tunnelRoutes.map({ $0.description }) where !wantedRoutes.contains(route) && route != pool.description {
            try control.removeRoute(route)
            report.routesRemoved.append(route)
        }
        return report
    }
}
