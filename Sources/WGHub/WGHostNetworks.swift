import WGModel

/// The hub machine's own networks, as `ip` shows them: what no site may claim as its LAN, because routing it into
/// the tunnel would cut the hub off its uplink, its gateway or a network it already reaches another way.
public struct WGHostNetworks: Sendable, Equatable {
    public struct Network: Sendable, Equatable {
        public var cidr: WGCIDR
        public var device: String
    }
    /// Connected networks, addresses and routes of the main table on any device but the hub's WireGuard interface.
    public var networks: [Network] = []
    /// Next hops of the default routes.
    public var gateways: [WGIPAddress] = []
    /// Routes on the WireGuard interface that are not the kernel's own (the pool's): sites' LANs routed today.
    public var tunnelRoutes: [WGCIDR] = []

    public init(networks: [Network] = [], gateways: [WGIPAddress] = [], tunnelRoutes: [WGCIDR] = []) {
        self.networks = networks
        self.gateways = gateways
        self.tunnelRoutes = tunnelRoutes
    }

    /// From `ip -o addr show` and `ip route show table main` (each run with -4 and -6, outputs joined).
    public static func parse(addresses: String, routes: String, interface: String) -> WGHostNetworks {
        var out = WGHostNetworks()
        for line in addresses.split(separator: "\n") {
            // "2: eth0    inet 203.0.113.1/24 brd 203.0.113.255 scope global eth0\       valid_lft forever …"
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard f.count > 3, let i = f.firstIndex(where: { $0 == "inet" || $0 == "inet6" }), i + 1 < f.count else { continue }
            let device = f[1].split(separator: "@").first.map(String.init) ?? f[1]
            guard device != interface, let cidr = try? WGCIDR(f[i + 1]), !cidr.isLinkLocal6 else { continue }
            out.networks.append(Network(cidr: cidr.network, device: device))
        }
        for line in routes.split(separator: "\n") {
            // "default via 203.0.113.254 dev eth0", "198.51.100.0/24 dev wg0 scope link", "unreachable 2001:db8::/48 …"
            var f = line.split(separator: " ").map(String.init)
            if let first = f.first, ["unicast", "local", "broadcast", "throw", "unreachable", "prohibit", "blackhole"].contains(first) {
                f.removeFirst()
            }
            guard let dest = f.first else { continue }
            let device = f.firstIndex(of: "dev").flatMap { $0 + 1 < f.count ? f[$0 + 1] : nil } ?? ""
            if dest == "default" {
                if let v = f.firstIndex(of: "via"), v + 1 < f.count, let gw = try? WGIPAddress(f[v + 1]) { out.gateways.append(gw) }
                continue
            }
            guard let cidr = try? WGCIDR(dest) else { continue }
            if device == interface {
                if !f.contains("kernel") { out.tunnelRoutes.append(cidr) }
            } else if !cidr.isLinkLocal6 {
                out.networks.append(Network(cidr: cidr, device: device))
            }
        }
        return out
    }
}

extension WGCIDR {
    /// fe80::/10 is on every link: no site can claim it, and no hub network is "in" it.
    var isLinkLocal6: Bool { isIPv6 && address.bytes[0] == 0xfe && (address.bytes[1] & 0xc0) == 0x80 }

    /// True when the two blocks share an address.
    func overlaps(_ other: WGCIDR) -> Bool {
        isIPv6 == other.isIPv6 && (contains(other) || other.contains(self))
    }
}
