/// One [Peer] section. `comment` is the "# name" line(s) written directly above `[Peer]`.
public struct WGPeerSection: Equatable, Sendable {
    public var publicKey: WGKey
    public var presharedKey: WGKey?
    public var allowedIPs: [WGCIDR]
    public var endpoint: WGEndpoint?
    /// Seconds; nil means off (wg treats 0 as off too, so 0 is read as nil).
    public var persistentKeepalive: Int?
    public var comment: String?

    public init(
        publicKey: WGKey, presharedKey: WGKey? = nil, allowedIPs: [WGCIDR] = [],
        endpoint: WGEndpoint? = nil, persistentKeepalive: Int? = nil, comment: String? = nil
    ) {
        self.publicKey = publicKey
        self.presharedKey = presharedKey
        self.allowedIPs = allowedIPs
        self.endpoint = endpoint
        self.persistentKeepalive = persistentKeepalive
        self.comment = comment
    }
}
