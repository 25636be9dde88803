#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// /etc/wireguard/wg0.conf from Templates/wg0.conf.mustache: 0600, SaveConfig off, NAT rules naming the
/// egress interface found on this machine. Checked by parsing it back before it is written.
public struct WGInterfaceConfigResource: WGResource {
    public let name = "interface-config"
    public init() {}

    public static func path(_ interface: String) -> String { "/etc/wireguard/\(interface).conf" }

    /// The file's text; `keyPlaceholder` stands in for a key that a dry run has not generated.
    public static func render(_ ctx: WGContext) throws -> String {
        let spec = ctx.spec
        let privateKey = try WGKeysResource.existingPrivateKey(ctx.host, interface: spec.interface)?.base64
        guard let keyText = privateKey ?? (ctx.willChange("keys") ? keyPlaceholder : nil) else {
            throw WGResourceError.noPrivateKey(path: WGKeysResource.privatePath(spec.interface))
        }
        var postUp: [String] = [], postDown: [String] = []
        if !spec.masqueradeSources.isEmpty {
            guard let egress = try ctx.facts.checkedEgressInterface() else {
                throw WGResourceError.noDefaultRouteForNAT
            }
            for net in spec.masqueradeSources {
                let tool = net.isIPv6 ? "ip6tables" : "iptables"
                let rule = "POSTROUTING -s \(net) -o \(egress) -j MASQUERADE"
                // -C first: a restart never stacks duplicate rules.
                postUp.append("\(tool) -t nat -C \(rule) 2>/dev/null || \(tool) -t nat -A \(rule)")
                postDown.append("\(tool) -t nat -D \(rule) 2>/dev/null || true")
            }
        }
        let peers: [[String: Any]] = spec.peers.map { p in
            var d: [String: Any] = [
                "name": p.comment ?? "peer",
                "public_key": p.publicKey.base64,
                "allowed_ips": p.allowedIPs.map(\.description).joined(separator: ", "),
            ]
            if let e = p.endpoint { d["endpoint"] = e.description }
            if let k = p.persistentKeepalive { d["keepalive"] = String(k) }
            if let psk = p.presharedKey { d["preshared_key"] = psk.base64 }
            return d
        }
        var context: [String: Any] = [
            "profile": spec.profileName,
            "interface": spec.interface,
            "private_key": keyText,
            "addresses": spec.addresses.map(\.description).joined(separator: ", "),
            "post_up": postUp,
            "post_down": postDown,
            "peers": peers,
        ]
        if let port = spec.listenPort { context["listen_port"] = String(port) }
        if !spec.dns.isEmpty { context["dns"] = spec.dns.joined(separator: ", ") }
        let text = try WGTemplates.render(ctx.files.template("wg0.conf.mustache"), context)
        // A template edit that breaks the file is caught here, not by wg-quick at boot.
        if privateKey != nil {
            do { _ = try WGQuickConfig.parse(text, source: path(spec.interface) + " (rendered)") } catch {
                throw WGResourceError.invalidRenderedConfig(reason: "\(error)")
            }
        }
        return text
    }

    static let keyPlaceholder = "(generated on apply)"

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        let path = Self.path(ctx.spec.interface)
        let text = try Self.render(ctx)
        var changes = try ctx.fileChanges(path, contents: text, permissions: 0o600, what: "WireGuard config",
                                          redact: WGSecrets.redactConfig)
        // `wg-quick down` runs the PostDown of the file as it is *then*: a restart after the write would leave the
        // old NAT rules behind (e.g. masquerade -> route). So a running tunnel is stopped first, with the config
        // it was started with; the service resource starts it again with the new one.
        let service = ctx.facts.initSystem.wireguardService(ctx.spec.interface)
        if !changes.isEmpty, ctx.host.root == "/", ctx.host.fileExists(path),
           try ctx.host.run(ctx.facts.initSystem.isActiveArgv(service)).succeeded {
            changes.insert(WGChange("stop \(service) before its config changes (its PostDown removes the old rules)",
                                    .run(ctx.facts.initSystem.stopArgv(service))), at: 0)
        }
        if changes.isEmpty {
            return .ok("\(path) matches the profile (0600, \(ctx.spec.peers.count) peer\(ctx.spec.peers.count == 1 ? "" : "s"))")
        }
        return .change(ctx.host.fileExists(path) ? "\(path) differs from the profile" : "no \(path) yet", changes)
    }
}
