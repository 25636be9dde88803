/// One peer line of `wg show NAME dump`:
/// `public-key preshared-key endpoint allowed-ips latest-handshake rx tx keepalive`.
/// The preshared key is not kept (it is secret and reports do not need it).
public struct WGDumpPeer: Equatable, Sendable, Codable {
    public var publicKey: WGKey
    /// As wg prints it (`203.0.113.1:51820`, `[2001:db8::1]:51820`); nil for "(none)".
    public var endpoint: String?
    public var allowedIPs: [WGCIDR]
    /// Unix seconds of the last handshake; 0 means never.
    public var latestHandshake: Int64
    public var receiveBytes: UInt64
    public var transmitBytes: UInt64
    /// Seconds; nil for "off".
    public var persistentKeepalive: Int?

    public init(publicKey: WGKey, endpoint: String? = nil, allowedIPs: [WGCIDR] = [], latestHandshake: Int64 = 0,
                receiveBytes: UInt64 = 0, transmitBytes: UInt64 = 0, persistentKeepalive: Int? = nil) {
        self.publicKey = publicKey
        self.endpoint = endpoint
        self.allowedIPs = allowedIPs
        self.latestHandshake = latestHandshake
        self.receiveBytes = receiveBytes
        self.transmitBytes = transmitBytes
        self.persistentKeepalive = persistentKeepalive
    }

    /// True when a handshake happened within `seconds` before `now` (unix seconds).
    public func handshakeIsRecent(now: Int64, within seconds: Int64 = 180) -> Bool {
        latestHandshake != 0 && now - latestHandshake <= seconds
    }

    init(dumpLine: String, line n: Int) throws {
        func bad(_ reason: String) -> WGModelError { .invalidDump(line: n, reason: reason) }
        let f = dumpLine.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 8 else {
            throw bad("peer line needs 8 tab-separated columns (public-key preshared-key endpoint allowed-ips latest-handshake rx tx keepalive), got \(f.count)")
        }
        publicKey = try WGDump.key(f[0], line: n, what: "peer public key")
        if f[1] != "(none)" { _ = try WGDump.key(f[1], line: n, what: "preshared key") }
        endpoint = f[2] == "(none)" ? nil : f[2]
        if f[3] == "(none)" { allowedIPs = [] } else {
            allowedIPs = try f[3].split(separator: ",").map { item in
                do { return try WGCIDR(String(item)) } catch let e as WGModelError {
                    throw bad("allowed IP \"\(item)\": \(e.reason)")
                }
            }
        }
        guard let hs = Int64(f[4]), hs >= 0 else { throw bad("latest handshake \"\(f[4])\" is not unix seconds") }
        guard let rx = UInt64(f[5]) else { throw bad("receive bytes \"\(f[5])\" is not a number") }
        guard let tx = UInt64(f[6]) else { throw bad("transmit bytes \"\(f[6])\" is not a number") }
        latestHandshake = hs
        receiveBytes = rx
        transmitBytes = tx
        if f[7] == "off" { persistentKeepalive = nil } else {
            guard let k = WGValues.decimal(f[7], 0...65535) else { throw bad("keepalive \"\(f[7])\" is not off or seconds") }
            persistentKeepalive = k == 0 ? nil : k
        }
    }
}
