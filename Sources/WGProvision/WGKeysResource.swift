#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// /etc/wireguard (0700), the private key (0600) and the public key beside it. A private key that is there
/// is never replaced: it is the site's identity, and the hub knows it by its public key.
public struct WGKeysResource: WGResource {
    public let name = "keys"
    public init() {}

    public static func privatePath(_ interface: String) -> String { "/etc/wireguard/\(interface).key" }
    public static func publicPath(_ interface: String) -> String { "/etc/wireguard/\(interface).pub" }

    /// The private key on the host: the key file, or (adopting a hand-made setup) the PrivateKey of wg0.conf.
    public static func existingPrivateKey(_ host: WGHost, interface: String) throws -> WGKey? {
        if let text = try host.readText(privatePath(interface)) {
            do { return try WGKey(base64: text.wgTrimmed()) } catch {
                throw WGResourceError.invalidPrivateKey(path: privatePath(interface), reason: "\(error)")
            }
        }
        return nil
    }

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        let iface = ctx.spec.interface
        let priv = Self.privatePath(iface), pub = Self.publicPath(iface)
        var changes = ctx.directoryChanges("/etc/wireguard", permissions: 0o700)
        if let key = try Self.existingPrivateKey(ctx.host, interface: iface) {
            if let info = ctx.host.fileInfo(priv), info.permissions != 0o600 {
                changes.append(WGChange("set mode 0600 on \(priv) (was \(WGMode.text(info.permissions)))",
                                        .setPermissions(path: priv, permissions: 0o600)))
            }
            let want = key.publicKey.base64 + "\n"
            if try ctx.host.readText(pub) != want {
                changes.append(WGChange("write the public key \(pub) from the existing private key",
                                        .derivePublicKey(privatePath: priv, publicPath: pub)))
            } else if let info = ctx.host.fileInfo(pub), info.permissions != 0o644 {
                changes.append(WGChange("set mode 0644 on \(pub)", .setPermissions(path: pub, permissions: 0o644)))
            }
            return changes.isEmpty ? .ok("private key present (0600, kept), public key \(key.publicKey.base64)")
                : .change("key files need care (the private key is kept)", changes)
        }
        // A hand-made wg0.conf already has an identity: adopt it rather than minting a new one.
        if let conf = try ctx.host.readText("/etc/wireguard/\(iface).conf"),
           let parsed = try? WGQuickConfig.parse(conf, source: "/etc/wireguard/\(iface).conf"),
           let key = parsed.interface.privateKey {
            changes.append(WGChange("adopt the private key of the existing \(iface).conf into \(priv) (0600)",
                                    .writeFile(path: priv, contents: Data((key.base64 + "\n").utf8), permissions: 0o600)))
            changes.append(WGChange("write the public key \(pub)", .derivePublicKey(privatePath: priv, publicPath: pub)))
            return .change("no key file, but \(iface).conf has a key", changes)
        }
        changes.append(WGChange("generate a private key \(priv) (0600) and its public key \(pub)",
                                .generateKey(privatePath: priv, publicPath: pub)))
        return .change("no private key yet", changes)
    }
}
