/// /etc/os-release (or /usr/lib/os-release), the few fields wgagent needs.
public struct WGOSRelease: Sendable, Equatable, Codable {
    public var id: String            // "debian", "alpine", "ubuntu"
    public var idLike: [String]
    public var versionID: String     // "12", "3.20.3", "24.04"
    public var codename: String      // "bookworm", "" on Alpine
    public var prettyName: String

    public init(id: String, idLike: [String] = [], versionID: String, codename: String = "", prettyName: String = "") {
        self.id = id
        self.idLike = idLike
        self.versionID = versionID
        self.codename = codename
        self.prettyName = prettyName
    }

    public static func parse(_ text: String) -> WGOSRelease {
        var fields: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.wgTrimmed(.whitespaces)
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            var value = String(line[line.index(after: eq)...])
            if value.count >= 2, let f = value.first, (f == "\"" || f == "'"), value.last == f {
                value = String(value.dropFirst().dropLast())
            }
            fields[String(line[..<eq])] = value
        }
        return WGOSRelease(
            id: fields["ID"]?.lowercased() ?? "linux",
            idLike: (fields["ID_LIKE"] ?? "").split(separator: " ").map { String($0).lowercased() },
            versionID: fields["VERSION_ID"] ?? "",
            codename: fields["VERSION_CODENAME"] ?? "",
            prettyName: fields["PRETTY_NAME"] ?? (fields["NAME"] ?? "Linux")
        )
    }

    /// The major version as a number ("12" -> 12, "3.20.3" -> 3), 0 when unknown.
    public var majorVersion: Int { Int(versionID.split(separator: ".").first ?? "") ?? 0 }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
