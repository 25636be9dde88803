/// Line-by-line reader behind `WGQuickConfig.parse`. Every error names source, line and key.
struct WGQuickParser {
    let source: String

    private enum Section { case none, interface, peer }

    private struct PendingPeer {
        let line: Int
        let comment: String?
        var publicKey: WGKey?
        var presharedKey: WGKey?
        var allowedIPs: [WGCIDR] = []
        var endpoint: WGEndpoint?
        var keepalive: Int?
        var seen: [String: Int] = [:]
    }

    private var section = Section.none
    private var interface = WGInterfaceSection()
    private var interfaceLine: Int?
    private var interfaceSeen: [String: Int] = [:]
    private var peers: [WGPeerSection] = []
    private var peerLines: [WGKey: Int] = [:]
    private var peer: PendingPeer?
    private var comments: [String] = []

    init(source: String) { self.source = source }

    mutating func parse(_ text: String) throws -> WGQuickConfig {
        var number = 0
        // "\r\n" is one Character in Swift: split on both so CRLF files work.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            try line(raw, number)
        }
        try finishPeer()
        return WGQuickConfig(interface: interface, peers: peers)
    }

    private func fail(_ line: Int, _ key: String, _ message: String, value: String? = nil) -> WGConfigError {
        WGConfigError(source: source, line: line, key: key, value: value, message: message)
    }

    private mutating func line(_ raw: Substring, _ n: Int) throws {
        let whole = raw.trimmingSpaces
        // Everything after `#` is a comment, as in wg-quick (`${line%%\#*}`) and wg.
        let content = (whole.firstIndex(of: "#").map { whole[..<$0] } ?? whole).trimmingSpaces
        if content.isEmpty {
            // Full-line comments directly above [Peer] become the peer's name; a blank line breaks the run.
            if whole.hasPrefix("#") { comments.append(String(whole.dropFirst().trimmingSpaces)) } else { comments = [] }
            return
        }
        if content.hasPrefix("[") {
            try header(String(content.filter { !$0.isWhitespace }), n)
            comments = []
            return
        }
        comments = []
        guard let eq = content.firstIndex(of: "=") else {
            throw fail(n, String(content), "expected `Key = value` or a section header like [Peer]")
        }
        let key = String(content[..<eq].trimmingSpaces)
        let value = String(content[content.index(after: eq)...].trimmingSpaces)
        guard !key.isEmpty else { throw fail(n, "=", "missing key name before `=`") }
        switch section {
        case .none:
            throw fail(n, key, "key outside a section: put it under [Interface] or [Peer]")
        case .interface:
            try interfaceKey(key, value, n)
        case .peer:
            try peerKey(key, value, n)
        }
    }

    private mutating func header(_ h: String, _ n: Int) throws {
        try finishPeer()
        switch h.lowercased() {
        case "[interface]":
            if let first = interfaceLine {
                throw fail(n, h, "duplicate [Interface] (first on line \(first)): merge them into one section")
            }
            interfaceLine = n
            section = .interface
        case "[peer]":
            let comment = comments.isEmpty ? nil : comments.joined(separator: "\n")
            peer = PendingPeer(line: n, comment: comment)
            section = .peer
        default:
            throw fail(n, h, "unknown section: wg-quick knows only [Interface] and [Peer]")
        }
    }

    private mutating func finishPeer() throws {
        guard let p = peer else { return }
        peer = nil
        guard let key = p.publicKey else {
            throw fail(p.line, "[Peer]", "peer has no PublicKey: add `PublicKey = …` (the output of `wg pubkey` on that peer)")
        }
        if let first = peerLines[key] {
            throw fail(p.seen["publickey"] ?? p.line, "PublicKey", "the same peer appears twice (first [Peer] on line \(first)): merge the two sections")
        }
        peerLines[key] = p.line
        peers.append(WGPeerSection(publicKey: key, presharedKey: p.presharedKey, allowedIPs: p.allowedIPs,
                                   endpoint: p.endpoint, persistentKeepalive: p.keepalive, comment: p.comment))
    }

    /// Converts a value error into one that names source, line and key.
    private func value<T>(_ key: String, _ value: String, _ n: Int, _ make: () throws -> T) throws -> T {
        do { return try make() } catch let e as WGModelError {
            throw fail(n, key, e.reason, value: e.value)
        }
    }

    private func once(_ seen: inout [String: Int], _ key: String, _ n: Int) throws {
        let k = key.lowercased()
        if let first = seen[k] { throw fail(n, key, "given twice (first on line \(first)): keep one") }
        seen[k] = n
    }

    private mutating func interfaceKey(_ key: String, _ v: String, _ n: Int) throws {
        let lower = key.lowercased()
        let lists: Set = ["address", "dns", "preup", "postup", "predown", "postdown"]
        if !lists.contains(lower) && WGQuickConfig.interfaceKeys.contains(where: { $0.lowercased() == lower }) {
            try once(&interfaceSeen, key, n)
        }
        switch lower {
        case "privatekey":
            interface.privateKey = try value(key, v, n) { try WGKey(base64: v) }
        case "listenport":
            guard let p = WGValues.decimal(v, 0...65535) else { throw fail(n, key, "port must be 0…65535 (0 picks a random port)", value: v) }
            interface.listenPort = UInt16(p)
        case "fwmark":
            guard WGValues.fwMark(v) != nil else { throw fail(n, key, "must be off, a number or 0x-hex up to 0xffffffff", value: v) }
            interface.fwMark = v
        case "address":
            let items = WGValues.list(v)
            guard !items.isEmpty else { throw fail(n, key, "empty: give one or more addresses like 192.0.2.1/24") }
            for item in items { interface.addresses.append(try value(key, item, n) { try WGCIDR(item) }) }
        case "dns":
            let items = WGValues.list(v)
            guard !items.isEmpty else { throw fail(n, key, "empty: give name server addresses and/or search domains") }
            for item in items {
                // wg-quick's own test: digits and dots, or any colon, is a server; the rest are search domains.
                if item.allSatisfy({ $0.isNumber || $0 == "." }) || item.contains(":") {
                    _ = try value(key, item, n) { try WGIPAddress(item) }
                } else if let problem = WGHostname.problem(item) {
                    throw fail(n, key, "neither an IP address nor a search domain: \(problem)", value: item)
                }
                interface.dns.append(item)
            }
        case "mtu":
            guard let m = WGValues.decimal(v, 68...65535) else { throw fail(n, key, "MTU must be 68…65535 (1420 is the usual WireGuard MTU)", value: v) }
            interface.mtu = m
        case "table":
            guard WGValues.isTable(v) else { throw fail(n, key, "must be off, auto, a table number or a table name", value: v) }
            interface.table = v
        case "preup": interface.preUp.append(try command(key, v, n))
        case "postup": interface.postUp.append(try command(key, v, n))
        case "predown": interface.preDown.append(try command(key, v, n))
        case "postdown": interface.postDown.append(try command(key, v, n))
        case "saveconfig":
            guard let b = WGValues.bool(v) else { throw fail(n, key, "must be true or false", value: v) }
            interface.saveConfig = b
        default:
            if WGQuickConfig.peerKeys.contains(where: { $0.lowercased() == lower }) {
                throw fail(n, key, "belongs in a [Peer] section, not [Interface]")
            }
            throw fail(n, key, "unknown key in [Interface]: known keys are \(WGQuickConfig.interfaceKeys.joined(separator: ", "))")
        }
    }

    private func command(_ key: String, _ v: String, _ n: Int) throws -> String {
        guard !v.isEmpty else { throw fail(n, key, "empty command: remove the line or give a command") }
        return v
    }

    private mutating func peerKey(_ key: String, _ v: String, _ n: Int) throws {
        let lower = key.lowercased()
        guard var p = peer else { return }
        if lower != "allowedips" && WGQuickConfig.peerKeys.contains(where: { $0.lowercased() == lower }) {
            try once(&p.seen, key, n)
        }
        switch lower {
        case "publickey":
            p.publicKey = try value(key, v, n) { try WGKey(base64: v) }
        case "presharedkey":
            p.presharedKey = try value(key, v, n) { try WGKey(base64: v) }
        case "allowedips":
            // An empty AllowedIPs is legal (a peer that routes nothing), as in `wg setconf`.
            for item in WGValues.list(v) { p.allowedIPs.append(try value(key, item, n) { try WGCIDR(item) }) }
        case "endpoint":
            p.endpoint = try value(key, v, n) { try WGEndpoint(v) }
        case "persistentkeepalive":
            if v.lowercased() == "off" { p.keepalive = nil } else {
                guard let k = WGValues.decimal(v, 0...65535) else { throw fail(n, key, "must be off or seconds 0…65535 (25 is usual behind NAT)", value: v) }
                p.keepalive = k == 0 ? nil : k
            }
        default:
            peer = p
            if WGQuickConfig.interfaceKeys.contains(where: { $0.lowercased() == lower }) {
                throw fail(n, key, "belongs in the [Interface] section, not [Peer]")
            }
            throw fail(n, key, "unknown key in [Peer]: known keys are \(WGQuickConfig.peerKeys.joined(separator: ", "))")
        }
        peer = p
    }
}
