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
        if let os = r.os, os.count > 100 || os.contains(where: { $0.isNewline }) { throw WGHubError.invalid("os", "at most 100 characters on one line") }
        if let v = r.agentVersion, v.count > 64 || v.contains(where: { $0.isNewline }) {
            throw WGHubError.invalid("agent_version", "at most 64 characters on one line")
        }
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
