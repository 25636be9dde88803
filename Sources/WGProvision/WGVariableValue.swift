#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// A checked variable value. Parsing is where "10.0.0.0/33" becomes an error rather than a broken VM.
public enum WGVariableValue: Sendable, Equatable {
    case text(String)
    case cidr(WGCIDR)
    case cidrs([WGCIDR])
    case endpoint(WGEndpoint)
    case key(WGKey)
    case number(Int)
    case peers([WGPeerSection])

    public struct Problem: Error { public var message: String; var line: Int?; var column: Int? }

    public static func parse(_ raw: String, as spec: WGVariableSpec) throws -> WGVariableValue {
        let text = raw.wgTrimmed(.whitespaces)
        do {
            switch spec.type {
            case .cidr:
                let c = try WGCIDR(text)
                // A profile's own prefix rule holds for every source, not only for the hub's answer.
                if let allowed = c.isIPv6 ? spec.prefix6 : spec.prefix, !allowed.contains(c.prefixLength) {
                    throw Problem(message: "\"\(text)\" has prefix /\(c.prefixLength); this profile allows /\(allowed.lowerBound) to /\(allowed.upperBound) for \(c.isIPv6 ? "IPv6" : "IPv4")")
                }
                return .cidr(c)
            case .cidrList:
                return .cidrs(try text.split(separator: ",").map { try WGCIDR($0.wgTrimmed(.whitespaces)) })
            case .endpoint:
                return .endpoint(try WGEndpoint(text))
            case .key:
                return .key(try WGKey(base64: text))
            case .port:
                guard let p = Int(text), (1...65535).contains(p) else { throw Problem(message: "\"\(text)\" is not a port (1…65535)") }
                return .number(p)
            case .seconds:
                guard let s = Int(text), (0...65535).contains(s) else { throw Problem(message: "\"\(text)\" is not a number of seconds (0…65535)") }
                return .number(s)
            case .choice:
                guard spec.choices.contains(text) else {
                    throw Problem(message: "\"\(text)\" is not one of \(spec.choices.joined(separator: ", "))")
                }
                return .text(text)
            case .sshKey:
                if text.isEmpty { return .text("") }
                let parts = text.split(separator: " ")
                guard !text.contains("\n"), parts.count >= 2,
                      parts[0].hasPrefix("ssh-") || parts[0].hasPrefix("ecdsa-") || parts[0].hasPrefix("sk-"),
                      Data(base64Encoded: String(parts[1])) != nil else {
                    throw Problem(message: "not an SSH public key line (\"ssh-ed25519 AAAA… comment\")")
                }
                return .text(text)
            case .text:
                guard !text.contains("\n") else { throw Problem(message: "must be a single line") }
                return .text(text)
            case .peers:
                throw Problem(message: "peers are given as a list in a --vars file, not as --var")
            }
        } catch let p as Problem {
            throw p
        } catch {
            throw Problem(message: "\(error)")
        }
    }

    /// From a --vars YAML node: scalars as with --var; lists for cidr-list; a list of mappings for peers.
    public static func parse(node: WGYAMLNode, as spec: WGVariableSpec) throws -> WGVariableValue {
        func problem(_ n: WGYAMLNode?, _ message: String) -> Problem { Problem(message: message, line: n?.line, column: n?.column) }
        if spec.type == .cidrList, let seq = node.sequence {
            var all: [WGCIDR] = []
            for item in seq {
                do { all.append(try WGCIDR(item.string ?? "")) } catch { throw problem(item, "\(error)") }
            }
            return .cidrs(all)
        }
        if spec.type == .peers {
            guard let seq = node.sequence else { throw problem(node, "a list of peers, each with public_key and allowed_ips") }
            var peers: [WGPeerSection] = []
            let known = ["name", "public_key", "allowed_ips", "endpoint", "keepalive", "preshared_key"]
            for item in seq {
                guard let m = item.mapping else { throw problem(item, "a peer is a mapping with public_key and allowed_ips") }
                for (k, _) in m where !known.contains(k.string ?? "") {
                    throw problem(k, "unknown peer field \"\(k.string ?? "")\"; known: \(known.joined(separator: ", "))")
                }
                guard let keyNode = m["public_key"] else { throw problem(item, "a peer needs public_key") }
                let key: WGKey
                do { key = try WGKey(base64: keyNode.string ?? "") } catch { throw problem(keyNode, "public_key: \(error)") }
                var allowed: [WGCIDR] = []
                guard let a = m["allowed_ips"] else { throw problem(item, "a peer needs allowed_ips") }
                let items = a.sequence ?? (a.string ?? "").split(separator: ",").map { WGYAMLNode(String($0), line: a.line, column: a.column) }
                for i in items {
                    do { allowed.append(try WGCIDR((i.string ?? "").wgTrimmed(.whitespaces))) } catch { throw problem(a, "allowed_ips: \(error)") }
                }
                var endpoint: WGEndpoint?
                if let e = m["endpoint"] { do { endpoint = try WGEndpoint(e.string ?? "") } catch { throw problem(e, "endpoint: \(error)") } }
                var keepalive: Int?
                if let k = m["keepalive"] {
                    guard let v = k.int, (0...65535).contains(v) else { throw problem(k, "keepalive: not a number of seconds (0…65535)") }
                    keepalive = v
                }
                var psk: WGKey?
                if let p = m["preshared_key"] { do { psk = try WGKey(base64: p.string ?? "") } catch { throw problem(p, "preshared_key: \(error)") } }
                let name = m["name"]?.string
                if let name, name.contains("\n") { throw problem(m["name"], "name must be one line") }
                peers.append(WGPeerSection(publicKey: key, presharedKey: psk, allowedIPs: allowed, endpoint: endpoint,
                                           persistentKeepalive: keepalive, comment: name))
            }
            return .peers(peers)
        }
        guard let s = scalarText(node) else { throw problem(node, "expected a single value") }
        do { return try parse(s, as: spec) } catch let p as Problem { throw problem(node, p.message) }
    }

    public var text: String? { if case .text(let s) = self { return s }; return nil }
    public var number: Int? { if case .number(let n) = self { return n }; return nil }
}
