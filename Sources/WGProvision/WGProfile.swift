#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// The kind of value a variable holds; checked before anything is planned.
public enum WGVariableType: String, Sendable, CaseIterable {
    case cidr, cidrList = "cidr-list", endpoint, key, port, seconds, choice, sshKey = "ssh-key", text, peers
}

public struct WGVariableSpec: Sendable, Equatable {
    public var name: String
    public var type: WGVariableType
    public var required: Bool
    public var defaultValue: String?
    public var choices: [String]
    public var help: String
    /// For cidr values: the prefix lengths allowed (`prefix: 16-30`, `prefix6: 64-128`); nil means any. The hub's
    /// enroll answer is held to these, or to `WGPrefixRule.default` when the profile says nothing.
    public var prefix: ClosedRange<Int>? = nil
    public var prefix6: ClosedRange<Int>? = nil
}

/// A profile file: a role, a few switches, and the variables a user fills in. Documented in the file itself.
public struct WGProfile: Sendable, Equatable {
    public var name: String
    public var source: String            // file name for messages
    public var text: String              // the file as written, for `profiles show`
    public var role: WGRole
    public var summary: String
    public var interface: String
    public var adminUser: String?
    public var firewall: Bool
    public var guestAgent: String        // auto | yes | no
    public var variables: [WGVariableSpec]

    static let topLevelKeys = ["role", "description", "interface", "admin_user", "firewall", "guest_agent", "variables"]
    static let variableKeys = ["type", "required", "default", "choices", "help", "prefix", "prefix6"]

    public static func parse(_ text: String, name: String, source: String) throws -> WGProfile {
        let where_ = "profile \(source)"
        func fail(_ node: WGYAMLNode?, _ field: String, _ message: String) -> WGProfileError {
            WGProfileError(source: where_, line: node?.line, column: node?.column, field: field, message: message)
        }
        let root: WGYAMLNode
        do {
            guard let n = try WGYAML.compose(text) else { throw fail(nil, "role", "the profile is empty") }
            root = n
        } catch let e as WGYAMLError {
            throw WGProfileError(source: where_, line: e.line, column: e.column, field: "(yaml)", message: "not valid YAML: \(e.message)")
        }
        guard let map = root.mapping else { throw fail(root, "(top)", "a profile is a mapping of fields (role, interface, variables, …)") }
        for (k, _) in map {
            guard let key = k.string, topLevelKeys.contains(key) else {
                throw fail(k, k.string ?? "?", "unknown field; known fields: \(topLevelKeys.joined(separator: ", "))")
            }
        }
        func scalar(_ key: String) -> WGYAMLNode? { map[key] }
        guard let roleNode = scalar("role") else { throw fail(root, "role", "missing; one of \(WGRole.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard let role = roleNode.string.flatMap(WGRole.init(rawValue:)) else {
            throw fail(roleNode, "role", "\"\(roleNode.string ?? "")\" is not a role; use one of \(WGRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let interface = scalar("interface")?.string ?? "wg0"
        guard WGNames.isInterfaceName(interface) else {
            throw fail(scalar("interface"), "interface", "\"\(interface)\" is not an interface name (1–15 of a-z A-Z 0-9 _ = + . -, not \".\" or \"..\")")
        }
        var adminUser: String? = "wgadmin"
        if let n = scalar("admin_user") {
            let v = n.string ?? ""
            if v.isEmpty || v == "none" { adminUser = nil } else if WGNames.isUserName(v) { adminUser = v } else {
                throw fail(n, "admin_user", "\"\(v)\" is not a user name (lowercase letters, digits, _ and -, starting with a letter)")
            }
        }
        var firewall = true
        if let n = scalar("firewall") {
            guard let b = n.bool else { throw fail(n, "firewall", "\"\(n.string ?? "")\" is not true or false") }
            firewall = b
        }
        let guestAgent = scalar("guest_agent")?.string ?? "auto"
        guard ["auto", "yes", "no"].contains(guestAgent) else {
            throw fail(scalar("guest_agent"), "guest_agent", "\"\(guestAgent)\" must be auto, yes or no")
        }
        var variables: [WGVariableSpec] = []
        if let vnode = scalar("variables") {
            guard let vmap = vnode.mapping else { throw fail(vnode, "variables", "a mapping of variable name to its type, default and help") }
            for (k, v) in vmap {
                guard let vname = k.string, WGNames.isVariableName(vname) else {
                    throw fail(k, k.string ?? "?", "variable names are lowercase words joined by _")
                }
                guard let spec = v.mapping else { throw fail(v, vname, "a variable is a mapping with type, required, default, help") }
                for (sk, _) in spec where !variableKeys.contains(sk.string ?? "") {
                    throw fail(sk, "\(vname).\(sk.string ?? "?")", "unknown field; known: \(variableKeys.joined(separator: ", "))")
                }
                guard let tnode = spec["type"], let type = tnode.string.flatMap(WGVariableType.init(rawValue:)) else {
                    throw fail(spec["type"] ?? v, "\(vname).type", "missing or unknown type; one of \(WGVariableType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let required = spec["required"]?.bool ?? false
                let choices = spec["choices"]?.sequence?.compactMap(\.string) ?? []
                if type == .choice && choices.isEmpty { throw fail(v, "\(vname).choices", "a choice variable lists its choices") }
                var ranges: [String: ClosedRange<Int>] = [:]
                for (key, bits) in [("prefix", 32), ("prefix6", 128)] {
                    guard let n = spec[key] else { continue }
                    guard type == .cidr else { throw fail(n, "\(vname).\(key)", "only a cidr variable has a prefix rule") }
                    guard let r = WGPrefixRule.parseRange(scalarText(n) ?? "", bits: bits) else {
                        throw fail(n, "\(vname).\(key)", "\"\(scalarText(n) ?? "")\" is not a prefix range: write it like 16-30 (within 0…\(bits))")
                    }
                    ranges[key] = r
                }
                variables.append(WGVariableSpec(
                    name: vname, type: type, required: required, defaultValue: spec["default"].flatMap(scalarText),
                    choices: choices, help: spec["help"]?.string ?? "", prefix: ranges["prefix"], prefix6: ranges["prefix6"]))
            }
        }
        let profile = WGProfile(
            name: name, source: source, text: text, role: role, summary: scalar("description")?.string ?? "",
            interface: interface, adminUser: adminUser, firewall: firewall, guestAgent: guestAgent, variables: variables)
        // A default must itself be valid: a typo in a profile is caught when it loads, not on some VM later.
        for v in variables {
            if let d = v.defaultValue, !d.isEmpty {
                do { _ = try WGVariableValue.parse(d, as: v) } catch let e as WGVariableValue.Problem {
                    let n = vnodeDefault(map, v.name)
                    throw fail(n, "\(v.name).default", e.message)
                }
            }
        }
        for needed in role.requiredVariables where !variables.contains(where: { $0.name == needed }) {
            throw fail(scalar("variables") ?? root, needed, "the \(role.rawValue) role needs a variable \"\(needed)\"")
        }
        return profile
    }

    private static func vnodeDefault(_ map: WGYAMLMapping, _ name: String) -> WGYAMLNode? {
        map["variables"]?.mapping?[name]?.mapping?["default"]
    }

    public func variable(_ name: String) -> WGVariableSpec? { variables.first { $0.name == name } }
}

/// The text of a scalar node as written (numbers and booleans too).
func scalarText(_ node: WGYAMLNode) -> String? {
    node.string
}

extension WGRole {
    /// Variables the role's code reads; a profile for the role must declare them.
    var requiredVariables: [String] {
        switch self {
        case .hub: return ["address", "listen_port"]
        case .siteGateway: return ["address", "hub_endpoint", "hub_public_key", "listen_port", "keepalive", "lan_access"]
        case .roadwarrior: return ["address", "hub_endpoint", "hub_public_key"]
        }
    }
}

/// Name rules shared by profiles and specs.
public enum WGNames {
    public static func isInterfaceName(_ s: String) -> Bool {
        WGInterfaceName.kernelProblem(s) == nil
            && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_=+.-".contains($0)) }
    }
    public static func isUserName(_ s: String) -> Bool {
        guard let f = s.first, f.isASCII, f.isLowercase, s.count <= 32 else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }
    }
    public static func isVariableName(_ s: String) -> Bool {
        guard let f = s.first, f.isLowercase else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
    }
}
