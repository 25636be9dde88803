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
        // Comment lines: no line breaks may slip in from a label.
        func oneLine(_ s: String) -> String { s.replacing("\n", with: " ").replacing("\r", with: " ") }
        return try WGTemplates.render(try files.template("cloud-init-user-data.mustache"),
                                      ["hub": oneLine(hub), "about": oneLine(about), "argv": runcmdItem(argv)])
    }
}
