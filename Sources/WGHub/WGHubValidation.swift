import WGModel

/// Field checks for requests; each failure names the field (400).
enum WGHubValidation {
    static func enroll(_ r: WGEnrollRequest, pool: WGAddressPool) throws -> WGEnrollRequest {
        var r = r
        let key: WGKey
        do {
            key = try WGKey(base64: r.publicKey)
            r.publicKey = key.base64
        } catch {
            throw WGHubError.invalid("public_key", "not a WireGuard public key (44 base64 characters, from `wg pubkey`)")
        }
        if key.isWeakPublicKey {
            throw WGHubError.invalid("public_key", "an all-zero or small-order key is no peer's key: make a real one with `wgagent keygen`")
        }
        if let problem = hostnameProblem(r.hostname) { throw WGHubError.invalid("hostname", problem) }
        guard (1...65535).contains(r.listenPort) else { throw WGHubError.invalid("listen_port", "must be 1…65535, got \(r.listenPort)") }
        try text(r.os, field: "os", max: 100)
        try text(r.agentVersion, field: "agent_version", max: 64)
        try text(r.machine, field: "machine", max: 256)
        guard r.lanSubnets.count <= 32 else { throw WGHubError.invalid("lan_subnets", "at most 32 subnets") }
        var normalized: [String] = []
        for (i, s) in r.lanSubnets.enumerated() {
            let field = "lan_subnets[\(i)]"
            let cidr: WGCIDR
            do { cidr = try WGCIDR(s) } catch { throw WGHubError.invalid(field, "\(error)") }
            guard s.contains("/") else { throw WGHubError.invalid(field, "\"\(s)\" needs a prefix length, e.g. 198.51.100.0/24") }
            guard cidr.network == cidr else { throw WGHubError.invalid(field, "\"\(s)\" has host bits set; did you mean \(cidr.network)?") }
            guard cidr.prefixLength > 0 else { throw WGHubError.invalid(field, "\"\(s)\" would route everything through this site") }
            if cidr.isIPv6 == pool.isIPv6 && (cidr.contains(pool.cidr) || pool.cidr.contains(cidr)) {
                throw WGHubError.invalid(field, "\"\(s)\" overlaps the tunnel pool \(pool)")
            }
            normalized.append(cidr.description)
        }
        r.lanSubnets = normalized
        return r
    }

    /// What a site says about itself reaches the store, the dashboard, alerts and the operator's terminal: printable
    /// text on one line (WGText.isPrintable) of bounded length, refused otherwise, naming the field.
    static func text(_ value: String?, field: String, max: Int) throws {
        guard let value else { return }
        guard value.count <= max else { throw WGHubError.invalid(field, "at most \(max) characters") }
        guard WGText.isPrintable(value) else {
            throw WGHubError.invalid(field, "printable text on one line: no control characters (escape sequences, CR, LF, TAB)")
        }
    }

    /// A health report's text, checked: identity fields and check names refused when not printable or too long; a
    /// check's detail (which may quote a command's output over several lines) kept with each control character as
    /// a space, cut at 1,000 characters. `changed`: the detail was rewritten (the stored body must be too).
    static func health(_ r: WGHealthReport) throws -> (report: WGHealthReport, changed: Bool) {
        guard r.seq >= 0 else { throw WGHubError.invalid("seq", "must be ≥ 0") }
        guard !r.interface.isEmpty else { throw WGHubError.invalid("interface", "1…15 characters") }
        try text(r.interface, field: "interface", max: 15)
        try text(r.firewall, field: "firewall", max: 64)
        try text(r.service, field: "service", max: 64)
        try text(r.machine, field: "machine", max: 256)
        guard r.checks.count <= 64 else { throw WGHubError.invalid("checks", "at most 64 checks") }
        var out = r, changed = false
        for (i, c) in r.checks.enumerated() {
            guard !c.name.isEmpty else { throw WGHubError.invalid("checks[\(i)].name", "a check's name, e.g. forwarding") }
            try text(c.name, field: "checks[\(i)].name", max: 64)
            guard let detail = c.detail else { continue }
            let clean = String(WGText.printable(detail).prefix(1000))
            if clean != detail { out.checks[i].detail = clean; changed = true }
        }
        for (i, p) in r.peers.enumerated() {
            guard (try? WGKey(base64: p.publicKey)) != nil else { throw WGHubError.invalid("peers[\(i)].public_key", "not a WireGuard public key") }
            try text(p.endpoint, field: "peers[\(i)].endpoint", max: 64)
        }
        return (out, changed)
    }

    static func hostnameProblem(_ name: String) -> String? {
        guard !name.isEmpty else { return "empty host name" }
        guard name.count <= 253 else { return "longer than 253 characters" }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.count <= 63 else { return "\"\(name)\": each dot-separated label must be 1…63 characters" }
            guard label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }), !label.hasPrefix("-"), !label.hasSuffix("-") else {
                return "\"\(name)\": only letters, digits and inner hyphens are allowed"
            }
        }
        return nil
    }

    static func port(_ p: Int, field: String = "port") throws {
        guard (1...65535).contains(p) else { throw WGHubError.invalid(field, "must be 1…65535, got \(p)") }
    }
}
