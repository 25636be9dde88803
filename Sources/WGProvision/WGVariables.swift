#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The values a user gave (`--var k=v`, `--vars FILE`) checked against a profile's declarations.
/// Later sources win: profile default < --vars file < --var.
public struct WGVariables: Sendable {
    public private(set) var values: [String: WGVariableValue] = [:]
    /// Where each value came from, for messages ("--var address", "vars site.yaml:3").
    public private(set) var origins: [String: String] = [:]

    public init() {}

    /// Profile defaults, then `base` (key=value, e.g. an enrollment's values), then the vars files, then `vars`.
    public static func resolve(profile: WGProfile, base: (source: String, values: [String])? = nil,
                               varsFiles: [(name: String, text: String)], vars: [String]) throws -> WGVariables {
        var result = WGVariables()
        let profileSource = "profile \(profile.source)"
        for v in profile.variables {
            if let d = v.defaultValue, !d.isEmpty {
                result.values[v.name] = try WGVariableValue.parse(d, as: v)
                result.origins[v.name] = "\(profileSource) default"
            }
        }
        func assign(_ assignments: [String], source: String) throws {
            for assignment in assignments {
                guard let eq = assignment.firstIndex(of: "=") else {
                    throw WGProfileError(source: source, field: assignment, message: "expected key=value, e.g. --var address=192.0.2.2/24")
                }
                let name = String(assignment[..<eq]), raw = String(assignment[assignment.index(after: eq)...])
                guard let spec = profile.variable(name) else {
                    throw WGProfileError(source: source, field: name,
                                         message: "profile \(profile.name) has no such variable; it takes \(profile.variables.map(\.name).joined(separator: ", "))")
                }
                do {
                    result.values[name] = try WGVariableValue.parse(raw, as: spec)
                    result.origins[name] = source == "--var" ? "--var \(name)" : source
                } catch let p as WGVariableValue.Problem {
                    throw WGProfileError(source: source, field: name, message: p.message + helpSuffix(spec))
                }
            }
        }
        if let base { try assign(base.values, source: base.source) }
        for file in varsFiles {
            let source = "vars file \(file.name)"
            let node: WGYAMLNode?
            do { node = try WGYAML.compose(file.text) } catch let e as WGYAMLError {
                throw WGProfileError(source: source, line: e.line, column: e.column, field: "(yaml)", message: "not valid YAML: \(e.message)")
            }
            guard let node else { continue }
            guard let map = node.mapping else {
                throw WGProfileError(source: source, line: node.line, field: "(top)", message: "a vars file is a mapping of variable: value")
            }
            for (k, v) in map {
                let name = k.string ?? "?"
                guard let spec = profile.variable(name) else {
                    throw WGProfileError(source: source, line: k.line, column: k.column, field: name,
                                         message: "profile \(profile.name) has no such variable; it takes \(profile.variables.map(\.name).joined(separator: ", "))")
                }
                do {
                    result.values[name] = try WGVariableValue.parse(node: v, as: spec)
                    result.origins[name] = "\(source):\(v.line)"
                } catch let p as WGVariableValue.Problem {
                    throw WGProfileError(source: source, line: p.line ?? v.line, column: p.column ?? v.column,
                                         field: name, message: p.message + helpSuffix(spec))
                }
            }
        }
        try assign(vars, source: "--var")
        for spec in profile.variables where spec.required && result.values[spec.name] == nil {
            throw WGProfileError(source: "profile \(profile.source)", field: spec.name,
                                 message: "required but not given; pass --var \(spec.name)=…" + helpSuffix(spec))
        }
        return result
    }

    static func helpSuffix(_ spec: WGVariableSpec) -> String {
        spec.help.isEmpty ? "" : " (\(spec.help))"
    }

    public subscript(_ name: String) -> WGVariableValue? { values[name] }
}
