import CSodium
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// What wgagent remembers between runs, in /var/lib/wgagent (0700): the hash of every file it wrote, so a
/// file it did not write (or that someone edited since) is backed up before it is replaced.
public final class WGState {
    public static let directory = "/var/lib/wgagent"
    static let path = directory + "/state.json"
    static let backups = directory + "/backups"

    struct Stored: Codable {
        var files: [String: String] = [:]   // path -> sha256 hex of what we wrote
    }

    let host: WGHost
    private var stored: Stored

    public init(host: WGHost) {
        self.host = host
        if let data = try? host.readFile(Self.path), let s = try? JSONDecoder().decode(Stored.self, from: data) {
            stored = s
        } else {
            stored = Stored()
        }
    }

    public static func sha256(_ data: Data) -> String {
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        data.withUnsafeBytes { buf in
            _ = crypto_hash_sha256(&out, buf.bindMemory(to: UInt8.self).baseAddress, UInt64(buf.count))
        }
        return WGText.hex(out)
    }

    /// Whether the file at `path` is one we wrote and nobody changed since.
    public func isOurs(_ path: String, current: Data) -> Bool {
        stored.files[path] == Self.sha256(current)
    }

    /// Backs up a file we did not write (or that was edited) and returns the backup's path.
    public func backupIfForeign(_ path: String, now: Date = Date()) throws -> String? {
        guard let current = try host.readFile(path), !isOurs(path, current: current) else { return nil }
        try ensureDirectories()
        let stamp = Self.stamp(now)
        let name = String(path.dropFirst()).replacing("/", with: "_") + "." + stamp
        let backup = Self.backups + "/" + name
        let mode = min(host.fileInfo(path)?.permissions ?? 0o600, 0o600)
        try host.writeFileAtomically(backup, contents: current, permissions: mode)
        return backup
    }

    public func recordWrite(_ path: String, contents: Data) throws {
        stored.files[path] = Self.sha256(contents)
        try save()
    }

    func ensureDirectories() throws {
        for dir in ["/var", "/var/lib"] where !host.fileExists(dir) { try host.makeDirectory(dir, permissions: 0o755) }
        try host.makeDirectory(Self.directory, permissions: 0o700)
        try host.makeDirectory(Self.backups, permissions: 0o700)
    }

    func save() throws {
        try ensureDirectories()
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try host.writeFileAtomically(Self.path, contents: try enc.encode(stored), permissions: 0o600)
    }

    static func stamp(_ date: Date) -> String {
        WGText.utcStamp(secondsSince1970: date.timeIntervalSince1970)
    }
}
