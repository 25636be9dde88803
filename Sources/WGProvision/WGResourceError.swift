/// What stops a resource from planning or applying on this machine, and the way out.
public enum WGResourceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The private key appeared between plan and apply (another run?): it is kept.
    case keyAppeared(path: String)
    case keyGone(path: String)
    case noPrivateKey(path: String)
    /// A file holds something else than a key: never overwritten.
    case invalidPrivateKey(path: String, reason: String)
    /// NAT or forwarding needs the egress interface, and there is no default route to find it.
    case noDefaultRouteForNAT
    case noDefaultRouteForGateway
    /// The egress interface's name cannot go into NAT or firewall rules.
    case unsafeEgressName(name: String, problem: String)
    case invalidRenderedConfig(reason: String)

    public var description: String {
        switch self {
        case .keyAppeared(let p): return "\(p) appeared while planning; it is kept, run apply again"
        case .keyGone(let p): return "\(p) is gone; run apply again to create it"
        case .noPrivateKey(let p): return "no private key at \(p); the keys resource creates it first"
        case .invalidPrivateKey(let p, let why):
            return "\(p) holds no valid WireGuard private key (\(why)); it is never overwritten: move it away if it is garbage"
        case .noDefaultRouteForNAT:
            return "NAT needs the egress interface, but this machine has no IPv4 default route (check `ip route`), or set lan_access: route"
        case .noDefaultRouteForGateway:
            return "a site gateway forwards to its LAN, but this machine has no IPv4 default route to name the LAN interface (check `ip route`)"
        case .unsafeEgressName(let name, let problem):
            return "the egress interface \"\(name)\" (the device of `ip -4 route show default`) cannot be "
                + "named in NAT or firewall rules: \(problem); rename it (`ip link set OLD name NEW`, or a "
                + "systemd .link file) and run apply again"
        case .invalidRenderedConfig(let why):
            return "the rendered config is not valid: \(why) (check Templates/wg0.conf.mustache)"
        }
    }
}
