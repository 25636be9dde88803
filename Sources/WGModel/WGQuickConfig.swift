/// A wg-quick configuration file (`/etc/wireguard/wg0.conf`): one [Interface] and any number of [Peer]s.
public struct WGQuickConfig: Equatable, Sendable {
    public var interface: WGInterfaceSection
    public var peers: [WGPeerSection]

    public init(interface: WGInterfaceSection = WGInterfaceSection(), peers: [WGPeerSection] = []) {
        self.interface = interface
        self.peers = peers
    }

    /// Parses like wg-quick and `wg setconf` together: keys case-insensitive, `#` starts a comment,
    /// comma lists with spaces, repeated list keys accumulate. `source` names the file in errors.
    public static func parse(_ text: String, source: String = "wg0.conf") throws -> WGQuickConfig {
        var parser = WGQuickParser(source: source)
        return try parser.parse(text)
    }

    /// The keys of each section, in canonical spelling, for messages.
    static let interfaceKeys = ["PrivateKey", "ListenPort", "FwMark", "Address", "DNS", "MTU", "Table",
                                "PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig"]
    static let peerKeys = ["PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive"]
}
