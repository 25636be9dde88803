extension WGQuickConfig {
    /// Canonical wg-quick file text: keys in a fixed order and spelling, lists on one line.
    public func render() -> String { text(wgQuickKeys: true) }

    /// What `wg-quick strip` prints, in canonical form: only the keys `wg setconf` knows.
    public func stripped() -> String { text(wgQuickKeys: false) }

    private func text(wgQuickKeys: Bool) -> String {
        var out: [String] = ["[Interface]"]
        let i = interface
        if let k = i.privateKey { out.append("PrivateKey = \(k.base64)") }
        if let p = i.listenPort { out.append("ListenPort = \(p)") }
        if let f = i.fwMark { out.append("FwMark = \(f)") }
        if wgQuickKeys {
            if !i.addresses.isEmpty { out.append("Address = " + i.addresses.map(\.description).joined(separator: ", ")) }
            if !i.dns.isEmpty { out.append("DNS = " + i.dns.joined(separator: ", ")) }
            if let m = i.mtu { out.append("MTU = \(m)") }
            if let t = i.table { out.append("Table = \(t)") }
            out += i.preUp.map { "PreUp = \($0)" }
            out += i.postUp.map { "PostUp = \($0)" }
            out += i.preDown.map { "PreDown = \($0)" }
            out += i.postDown.map { "PostDown = \($0)" }
            if let s = i.saveConfig { out.append("SaveConfig = \(s)") }
        }
        for p in peers {
            out.append("")
            if let c = p.comment { out += c.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "#" : "# \($0)" } }
            out.append("[Peer]")
            out.append("PublicKey = \(p.publicKey.base64)")
            if let k = p.presharedKey { out.append("PresharedKey = \(k.base64)") }
            if !p.allowedIPs.isEmpty { out.append("AllowedIPs = " + p.allowedIPs.map(\.description).joined(separator: ", ")) }
            if let e = p.endpoint { out.append("Endpoint = \(e)") }
            if let k = p.persistentKeepalive { out.append("PersistentKeepalive = \(k)") }
        }
        return out.joined(separator: "\n") + "\n"
    }
}
