#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// Templates/ and Profiles/: embedded in the binary at build time, or read from directories given with
/// --templates / --profiles (a file there wins over the embedded one of the same name).
public struct WGFileSource: Sendable {
    public var templatesDirectory: String?
    public var profilesDirectory: String?

    public init(templatesDirectory: String? = nil, profilesDirectory: String? = nil) {
        self.templatesDirectory = templatesDirectory
        self.profilesDirectory = profilesDirectory
    }

    static let embedded: [String: String] = WGEmbeddedFiles.base64.compactMapValues {
        Data(base64Encoded: $0).map { String(decoding: $0, as: UTF8.self) }
    }

    public func template(_ name: String) throws -> String {
        if let dir = templatesDirectory, let text = try? String(contentsOfFile: dir + "/" + name, encoding: .utf8) { return text }
        guard let text = Self.embedded["Templates/" + name] else {
            throw WGFileSourceError.noTemplate(name: name, embedded: Self.names(in: "Templates/"))
        }
        return text
    }

    /// Profile names: embedded ones plus *.yaml in --profiles.
    public func profileNames() -> [String] {
        var names = Set(Self.names(in: "Profiles/").filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) })
        if let dir = profilesDirectory, let list = try? FileManager.default.contentsOfDirectory(atPath: dir) {
            for f in list where f.hasSuffix(".yaml") { names.insert(String(f.dropLast(5))) }
        }
        return names.sorted()
    }

    /// A profile by name ("site-gateway") or by path ("./my.yaml", "/etc/wgagent/site.yaml").
    public func loadProfile(_ nameOrPath: String) throws -> WGProfile {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") {
            guard let text = try? String(contentsOfFile: nameOrPath, encoding: .utf8) else {
                throw WGFileSourceError.unreadableProfile(path: nameOrPath)
            }
            let file = WGPath.lastComponent(nameOrPath)
            let base = file.split(separator: ".").first.map(String.init) ?? file
            return try WGProfile.parse(text, name: base, source: nameOrPath)
        }
        if let dir = profilesDirectory, let text = try? String(contentsOfFile: dir + "/" + nameOrPath + ".yaml", encoding: .utf8) {
            return try WGProfile.parse(text, name: nameOrPath, source: dir + "/" + nameOrPath + ".yaml")
        }
        guard let text = Self.embedded["Profiles/" + nameOrPath + ".yaml"] else {
            throw WGFileSourceError.noProfile(name: nameOrPath, known: profileNames())
        }
        return try WGProfile.parse(text, name: nameOrPath, source: nameOrPath + ".yaml")
    }

    static func names(in prefix: String) -> [String] {
        embedded.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted()
    }
}
