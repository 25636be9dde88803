/// The [Interface] section of a wg-quick file. Keys `wg setconf` knows (PrivateKey, ListenPort,
/// FwMark) sit beside the wg-quick-only ones (Address, DNS, MTU, Table, hooks, SaveConfig).
public struct WGInterfaceSection: Equatable, Sendable {
    public var privateKey: WGKey?
    public var listenPort: UInt16?
    /// As written: "off", decimal or 0x-hex (validated to fit 32 bits); see `fwMarkValue`.
    public var fwMark: String?
    public var addresses: [WGCIDR]
    /// IP addresses (name servers) or search domains, as wg-quick splits them.
    public var dns: [String]
    public var mtu: Int?
    /// "off", "auto", a routing table number or a name from /etc/iproute2/rt_tables.
    public var table: String?
    public var preUp: [String]
    public var postUp: [String]
    public var preDown: [String]
    public var postDown: [String]
    public var saveConfig: Bool?

    public init(
        privateKey: WGKey? = nil, listenPort: UInt16? = nil, fwMark: String? = nil,
        addresses: [WGCIDR] = [], dns: [String] = [], mtu: Int? = nil, table: String? = nil,
        preUp: [String] = [], postUp: [String] = [], preDown: [String] = [], postDown: [String] = [],
        saveConfig: Bool? = nil
    ) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.fwMark = fwMark
        self.addresses = addresses
        self.dns = dns
        self.mtu = mtu
        self.table = table
        self.preUp = preUp
        self.postUp = postUp
        self.preDown = preDown
        self.postDown = postDown
        self.saveConfig = saveConfig
    }

    /// The firewall mark as a number; nil when unset or "off".
    public var fwMarkValue: UInt32? { fwMark.flatMap(WGValues.fwMark).flatMap { $0 == 0 ? nil : $0 } }

    /// DNS entries that are name servers (IP addresses).
    public var dnsServers: [WGIPAddress] { dns.compactMap { try? WGIPAddress($0) } }

    /// DNS entries that are search domains.
    public var dnsSearch: [String] { dns.filter { (try? WGIPAddress($0)) == nil } }
}
