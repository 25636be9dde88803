/// `wg show NAME dump`: a tab-separated interface line, then one line per peer.
/// The private key in the first column is checked but never kept.
public struct WGDump: Equatable, Sendable, Codable {
    public var publicKey: WGKey
    /// nil when the interface reports port 0 (not listening).
    public var listenPort: UInt16?
    /// nil when "off"; otherwise as wg prints it (0x-hex).
    public var fwMark: String?
    public var peers: [WGDumpPeer]

    public init(publicKey: WGKey, listenPort: UInt16? = nil, fwMark: String? = nil, peers: [WGDumpPeer] = []) {
        self.publicKey = publicKey
        self.listenPort = listenPort
        self.fwMark = fwMark
        self.peers = peers
    }

    public static func parse(_ text: String) throws -> WGDump {
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        guard let first = lines.first else {
            throw WGModelError.invalidDump(line: 1, reason: "empty output: run `wg show NAME dump` with an interface name that exists")
        }
        let f = first.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        if f.count == 5 {
            throw WGModelError.invalidDump(line: 1, reason: "5 columns look like `wg show all dump`: name the interface (`wg show NAME dump`)")
        }
        guard f.count == 4 else {
            throw WGModelError.invalidDump(line: 1, reason: "interface line needs 4 tab-separated columns (private-key public-key listen-port fwmark), got \(f.count)")
        }
        guard f[1] != "(none)" else {
            throw WGModelError.invalidDump(line: 1, reason: "interface has no private key: set one with `wg set NAME private-key FILE`")
        }
        if f[0] != "(none)" { _ = try key(f[0], line: 1, what: "private key") }
        let pub = try key(f[1], line: 1, what: "public key")
        guard let port = WGValues.decimal(f[2], 0...65535) else {
            throw WGModelError.invalidDump(line: 1, reason: "listen port \"\(f[2])\" is not 0…65535")
        }
        guard WGValues.fwMark(f[3]) != nil else {
            throw WGModelError.invalidDump(line: 1, reason: "fwmark \"\(f[3])\" is not off or a number")
        }
        var dump = WGDump(publicKey: pub, listenPort: port == 0 ? nil : UInt16(port),
                          fwMark: f[3] == "off" ? nil : f[3])
        for (i, l) in lines.dropFirst().enumerated() {
            dump.peers.append(try WGDumpPeer(dumpLine: String(l), line: i + 2))
        }
        return dump
    }

    static func key(_ text: String, line: Int, what: String) throws -> WGKey {
        do { return try WGKey(base64: text) } catch let e as WGModelError {
            throw WGModelError.invalidDump(line: line, reason: "\(what): \(e.reason)")
        }
    }
}
