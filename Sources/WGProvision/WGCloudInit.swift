#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// cloud-init user-data that enrolls a new VM on first boot (Templates/cloud-init-user-data.mustache), for
/// `wghub token create --cloud-init`. The command is a runcmd list, so cloud-init runs it as argv, no shell.
public enum WGCloudInit {
    /// The runcmd item: a JSON array, which is also a YAML flow sequence, so every value is quoted safely.
    public static func runcmdItem(_ argv: [String]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: (try? enc.encode(argv)) ?? Data("[]".utf8), as: UTF8.self)
    }

    public static func userData(argv: [String], hub: String, about: String, files: WGFileSource = WGFileSource()) throws -> String {
        try WGTemplates.render(try files.template("cloud-init-user-data.mustache"),
                               ["hub": oneLine(hub), "about": oneLine(about), "argv": runcmdItem(argv)])
    }

    /// The stock-image form: `script` written by write_files (a literal block under `content: |`), run by one argv.
    public static func bootstrapUserData(argv: [String], script: String, hub: String, about: String,
                                         files: WGFileSource = WGFileSource()) throws -> String {
        let block = script.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "      " + String($0) }
            .joined(separator: "\n")
        return try WGTemplates.render(try files.template("cloud-init-bootstrap.mustache"), [
            "hub": oneLine(hub), "about": oneLine(about),
            "script": block.hasSuffix("\n") ? String(block.dropLast()) : block, "argv": runcmdItem(argv),
        ])
    }

    /// Comment lines: no line breaks may slip in from a label.
    static func oneLine(_ s: String) -> String { s.replacing("\n", with: " ").replacing("\r", with: " ") }
}
