#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// The desired state of one machine: what the role makes of the profile and its variables.
/// Facts that are only known on the machine (the egress interface) are filled in by the resources.
public struct WGSpec: Sendable {
    public enum LANAccess: String, Sendable { case masquerade, route }

    public var profileName: String
    public var role: WGRole
    public var interface: String
    public var addresses: [WGCIDR]
    public var listenPort: Int?
    public var peers: [WGPeerSection]
    public var dns: [String]
    /// Forwarding and NAT: hubs and site gateways route; road warriors don't.
    public var forwarding: Bool
    public var lanAccess: LANAccess?
    public var lanSubnets: [WGCIDR]
    /// Tunnel networks whose traffic is masqueraded out of the egress interface.
    public var masqueradeSources: [WGCIDR]
    public var firewall: Bool
    public var adminUser: String?
    public var adminSSHKey: String?
    public var guestAgent: String
    /// TCP ports opened in the firewall besides SSH (the hub: wghub's API port).
    public var allowedTCPPorts: [Int] = []
    /// Seconds between health reports once enrolled (the reporter service's --interval).
    public var reportInterval: Int = 60
    /// A listen port means peers are expected to connect in: enroll and apply check the port forward once.
    public var expectsInbound: Bool { listenPort != nil }

    public var hasIPv6: Bool { addresses.contains(where: \.isIPv6) || peers.contains { $0.allowedIPs.contains(where: \.isIPv6) } }

    public static func build(profile: WGProfile, variables: WGVariables) throws -> WGSpec {
        func need<T>(_ name: String, _ get: (WGVariableValue) -> T?) throws -> T {
            guard let v = variables[name], let t = get(v) else {
                throw WGProfileError(source: "profile \(profile.source)", field: name, message: "required but not given; pass --var \(name)=…")
            }
            return t
        }
        func cidr(_ v: WGVariableValue) -> WGCIDR? { if case .cidr(let c) = v { return c }; return nil }
        func cidrs(_ v: WGVariableValue) -> [WGCIDR]? { if case .cidrs(let c) = v { return c }; return nil }
        func key(_ v: WGVariableValue) -> WGKey? { if case .key(let k) = v { return k }; return nil }
        func endpoint(_ v: WGVariableValue) -> WGEndpoint? { if case .endpoint(let e) = v { return e }; return nil }

        let address = try need("address", cidr)
        let sshKey = variables["admin_ssh_key"]?.text.flatMap { $0.isEmpty ? nil : $0 }
        var spec = WGSpec(
            profileName: profile.name, role: profile.role, interface: profile.interface, addresses: [address],
            listenPort: variables["listen_port"]?.number, peers: [], dns: [], forwarding: false, lanAccess: nil,
            lanSubnets: variables["lan_subnets"].flatMap(cidrs) ?? [], masqueradeSources: [], firewall: profile.firewall,
            adminUser: profile.adminUser, adminSSHKey: sshKey, guestAgent: profile.guestAgent)
        if let extra = variables["address6"].flatMap(cidr) { spec.addresses.append(extra) }
        if let interval = variables["report_interval"]?.number {
            guard interval >= 1 else {
                throw WGProfileError(source: "profile \(profile.source)", field: "report_interval",
                                     message: "\(interval) is not a reporting interval: give at least 1 second (60 is the default)")
            }
            spec.reportInterval = interval
        }
        if let dns = variables["dns"]?.text, !dns.isEmpty {
            spec.dns = dns.split(separator: ",").map { $0.wgTrimmed(.whitespaces) }
        }

        switch profile.role {
        case .hub:
            spec.forwarding = true
            if case .peers(let peers)? = variables["peers"] { spec.peers = peers }
            // wghub beside the interface: sites enroll and report over HTTPS on this port.
            if let api = variables["api_port"]?.number { spec.allowedTCPPorts.append(api) }
            // Road warriors with a full tunnel leave through the hub's uplink.
            if variables["nat"]?.text != "no" { spec.masqueradeSources = spec.addresses.map(\.network) }
        case .siteGateway:
            let hubKey = try need("hub_public_key", key)
            let hubEndpoint = try need("hub_endpoint", endpoint)
            let keepalive = variables["keepalive"]?.number ?? 25
            // The tunnel subnet reaches the hub; the hub's own LAN subnets too when given.
            var allowed = [address.network]
            allowed += variables["hub_subnets"].flatMap(cidrs) ?? []
            spec.peers = [WGPeerSection(publicKey: hubKey, allowedIPs: allowed, endpoint: hubEndpoint,
                                        persistentKeepalive: keepalive == 0 ? nil : keepalive, comment: "hub")]
            spec.forwarding = true
            let mode = LANAccess(rawValue: variables["lan_access"]?.text ?? "masquerade") ?? .masquerade
            spec.lanAccess = mode
            // masquerade: LAN hosts see tunnel traffic as coming from this VM and need no return route.
            if mode == .masquerade { spec.masqueradeSources = [address.network] }
        case .roadwarrior:
            let hubKey = try need("hub_public_key", key)
            let hubEndpoint = try need("hub_endpoint", endpoint)
            let keepalive = variables["keepalive"]?.number ?? 25
            spec.peers = [WGPeerSection(publicKey: hubKey, allowedIPs: [try WGCIDR("0.0.0.0/0"), try WGCIDR("::/0")],
                                        endpoint: hubEndpoint, persistentKeepalive: keepalive == 0 ? nil : keepalive,
                                        comment: "hub (full tunnel)")]
            spec.forwarding = false
            spec.listenPort = variables["listen_port"]?.number
        }
        return spec
    }
}
