#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// How far the agent trusts the hub's enroll answer: only as far as the profile needs. Every value that goes into
/// wg0.conf, NAT rules or the enrollment file is checked here, before anything is saved; a hostile, compromised or
/// mistyped hub is refused (`WGEnrollError.untrustedAnswer`, exit 2) rather than obeyed.
///
/// The rules (README "enroll"): `address` is a host address (not the network, broadcast or the hub's own address:
/// wghub keeps the pool's first address) with a prefix in the profile's range (`prefix` / `prefix6`, else /8–/32 and
/// /32–/128), not loopback, multicast, link-local or unspecified, and not overlapping this machine's LAN;
/// `allowed_ips` (site-gateway) lie inside the tunnel network; `keepalive` is what the profile's variable accepts;
/// `hub_public_key` is a usable Curve25519 key that is not this machine's; `hub_endpoint` is not inside the tunnel;
/// and the whole answer then passes the profile exactly as `apply` will read it.
struct WGEnrollAnswerCheck {
    var profile: WGProfile
    /// This machine's public key (base64).
    var ownPublicKey: String
    /// This machine's LAN (what enroll sends as lan_subnets).
    var lanSubnets: [String]
    /// The --var values given to enroll (they are applied on top of the hub's values).
    var vars: [String]
    var hub: String

    /// Most allowed_ips entries accepted: wghub sends one (its pool).
    static let maxAllowedIPs = 64

    func check(_ a: WGEnrollResponse) throws {
        func refuse(_ field: String, _ value: String, _ rule: String) -> WGEnrollError {
            .untrustedAnswer(field: field, value: value, rule: rule, hub: hub)
        }

        // address
        let address: WGCIDR
        do { address = try WGCIDR(a.address) } catch { throw WGEnrollError.badAnswer(field: "address", value: a.address, detail: "\(error)") }
        let allowed = WGPrefixRule.allowed(profile.variable("address"), ipv6: address.isIPv6)
        guard allowed.contains(address.prefixLength) else {
            throw refuse("address", a.address, "has prefix /\(address.prefixLength), but profile \(profile.name) takes a tunnel "
                + "address with /\(allowed.lowerBound) to /\(allowed.upperBound) (\(address.isIPv6 ? "IPv6" : "IPv4")): "
                + "it would route and masquerade far more than the tunnel")
        }
        if let special = Self.specialKind(address.address) {
            throw refuse("address", a.address, "is \(special), not a tunnel address")
        }
        let hostBits = address.address.bitCount - address.prefixLength
        let net = address.network
        if hostBits >= 2 {
            if address.address == net.address {
                throw refuse("address", a.address, "is the network address of \(net), not a host address")
            }
            if !address.isIPv6, address.address == Self.last(of: address) {
                throw refuse("address", a.address, "is the broadcast address of \(net), not a host address")
            }
            if address.address == Self.offset(net, by: 1) {
                throw refuse("address", a.address, "is the first address of \(net), which wghub keeps for itself (the hub's own address)")
            }
        }
        for lan in lanSubnets {
            guard let l = try? WGCIDR(lan), l.isIPv6 == address.isIPv6 else { continue }
            if net.contains(l.network) || l.network.contains(net) {
                throw refuse("address", a.address, "overlaps this machine's LAN \(lan): traffic for the LAN would go into the tunnel")
            }
        }

        // allowed_ips
        guard a.allowedIPs.count <= Self.maxAllowedIPs else {
            throw refuse("allowed_ips", "(\(a.allowedIPs.count) entries)", "has more than \(Self.maxAllowedIPs) entries; wghub sends its pool")
        }
        for text in a.allowedIPs {
            let c: WGCIDR
            do { c = try WGCIDR(text) } catch { throw WGEnrollError.badAnswer(field: "allowed_ips", value: text, detail: "\(error)") }
            if profile.role == .siteGateway, !net.contains(c) {
                throw refuse("allowed_ips", text, "is not inside the tunnel network \(net): a site gateway sends only tunnel "
                    + "traffic to the hub (networks behind the hub are the site's own hub_subnets)")
            }
            // An entry written with its host bits (192.0.2.1/24) or a host route names the hub's own address.
            if c.address == address.address, c.address != c.network.address || c.prefixLength == c.address.bitCount {
                throw refuse("address", a.address, "is the hub's own address (allowed_ips \(text))")
            }
        }

        // keepalive: exactly what the profile's variable accepts (0…65535 seconds for `seconds`).
        if let spec = profile.variable("keepalive") {
            do { _ = try WGVariableValue.parse(String(a.keepalive), as: spec) } catch let p as WGVariableValue.Problem {
                throw refuse("keepalive", String(a.keepalive), "is refused by profile \(profile.name): \(p.message)")
            }
        }

        // hub_public_key
        let key: WGKey
        do { key = try WGKey(base64: a.hubPublicKey) } catch {
            throw refuse("hub_public_key", a.hubPublicKey, "is not a WireGuard key (\(error))")
        }
        if Self.isLowOrder(key) {
            throw refuse("hub_public_key", a.hubPublicKey, "is an all-zero or low-order Curve25519 point: no tunnel can be made with it")
        }
        if key.base64 == ownPublicKey {
            throw refuse("hub_public_key", a.hubPublicKey, "is this machine's own public key, not the hub's")
        }

        // hub_endpoint
        let endpoint: WGEndpoint
        do { endpoint = try WGEndpoint(a.hubEndpoint) } catch {
            throw refuse("hub_endpoint", a.hubEndpoint, "is not a HOST:PORT endpoint (\(error))")
        }
        if let ip = endpoint.address {
            if let special = Self.specialKind(ip), special != "a loopback address" {
                throw refuse("hub_endpoint", a.hubEndpoint, "is \(special), which no hub can be reached at")
            }
            if net.contains(ip) {
                throw refuse("hub_endpoint", a.hubEndpoint, "is inside the tunnel network \(net): the tunnel's own packets would be routed into it")
            }
        }

        // credential and site id: sent back in headers and shown to the operator.
        guard WGSecretText.isPlausible(a.credential), a.credential.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw refuse("credential", "(\(a.credential.count) characters)", "is not one line of printable ASCII under 512 characters")
        }
        if let id = a.siteID, id <= 0 {
            throw refuse("site_id", String(id), "is not a positive site id")
        }

        // Last, the whole answer as `apply` will read it: nothing saved can fail there later.
        let values = ["address=\(a.address)", "hub_endpoint=\(a.hubEndpoint)", "hub_public_key=\(a.hubPublicKey)",
                      "keepalive=\(a.keepalive)"].filter { v in profile.variable(String(v.prefix(while: { $0 != "=" }))) != nil }
        do {
            let variables = try WGVariables.resolve(profile: profile, base: (source: "the hub's answer", values: values), varsFiles: [], vars: vars)
            _ = try WGSpec.build(profile: profile, variables: variables)
        } catch let e as WGProfileError {
            // A problem in one of the hub's values is the hub's; any other (a --var) is the operator's, as it is.
            guard let given = values.first(where: { $0.hasPrefix(e.field + "=") }) else { throw e }
            throw refuse(e.field, String(given.dropFirst(e.field.count + 1)), "does not fit profile \(profile.name): \(e.message)")
        }
    }

    /// Addresses that are never a tunnel address or a hub: nil for an ordinary one.
    static func specialKind(_ a: WGIPAddress) -> String? {
        let b = a.bytes
        if b.allSatisfy({ $0 == 0 }) { return "the unspecified address" }
        if a.isIPv6 {
            if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return "a loopback address" }
            if b[0] == 0xFF { return "a multicast address" }
            if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return "a link-local address" }
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return "an IPv4-mapped address" }
            return nil
        }
        if b[0] == 127 { return "a loopback address" }
        if b[0] == 0 { return "in 0.0.0.0/8 (\"this network\")" }
        if b[0] >= 224 && b[0] <= 239 { return "a multicast address" }
        if b == [255, 255, 255, 255] { return "the limited broadcast address" }
        if b[0] >= 240 { return "in the reserved 240.0.0.0/4" }
        if b[0] == 169 && b[1] == 254 { return "a link-local address" }
        return nil
    }

    /// The last address of the block (all host bits set).
    static func last(of c: WGCIDR) -> WGIPAddress {
        let bytes = c.address.bytes.enumerated().map { i, v -> UInt8 in
            let keep = min(8, max(0, c.prefixLength - 8 * i))
            return keep == 8 ? v : v | UInt8(truncatingIfNeeded: 0xFF >> keep)
        }
        return c.isIPv6 ? .v6(bytes) : .v4(bytes)
    }

    /// `net`'s address plus `n` (n small).
    static func offset(_ net: WGCIDR, by n: UInt8) -> WGIPAddress {
        var bytes = net.network.address.bytes
        var carry = UInt16(n)
        for i in stride(from: bytes.count - 1, through: 0, by: -1) where carry > 0 {
            let s = UInt16(bytes[i]) + carry
            bytes[i] = UInt8(s & 0xFF)
            carry = s >> 8
        }
        return net.isIPv6 ? .v6(bytes) : .v4(bytes)
    }

    /// Curve25519 points of small order (libsodium's blocklist, WGModel's `isWeakPublicKey`): a key like that
    /// makes every shared secret predictable.
    static func isLowOrder(_ key: WGKey) -> Bool { key.isWeakPublicKey }
}
