#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
// Commands are WGProcess's: whoever holds a host can name its results and errors.
@_exported import WGProcess

/// The one seam through which wgagent touches a machine: files under a root prefix, commands as argv arrays.
/// Paths are always absolute paths *inside* the managed system ("/etc/wireguard/wg0.conf").
/// The real host runs commands through `chroot ROOT` when the root is not "/"; the fake host records them.
public protocol WGHost: AnyObject {
    var root: String { get }

    /// The file's bytes, or nil when it does not exist.
    func readFile(_ path: String) throws -> Data?
    func fileInfo(_ path: String) -> WGFileInfo?
    func listDirectory(_ path: String) -> [String]
    /// Temp file in the same directory, fsync, rename: a reader sees the old file or the new one, never half.
    func writeFileAtomically(_ path: String, contents: Data, permissions: UInt32) throws
    func makeDirectory(_ path: String, permissions: UInt32) throws
    func setPermissions(_ path: String, _ permissions: UInt32) throws
    func makeSymlink(_ path: String, target: String) throws
    func removeFile(_ path: String) throws
    /// Runs argv (never through a shell). `onLine` sees each stdout line as it comes, for progress.
    /// A command that cannot be started throws `WGCommandError`; one that exits non-zero is a normal result.
    func run(_ argv: [String], input: Data?, onLine: ((String) -> Void)?) throws -> WGCommandResult
}

extension WGHost {
    public func fileExists(_ path: String) -> Bool { fileInfo(path) != nil }

    public func readText(_ path: String) throws -> String? {
        guard let data = try readFile(path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    public func run(_ argv: [String]) throws -> WGCommandResult {
        try run(argv, input: nil, onLine: nil)
    }

    /// Whether `name` is an executable in the system's usual PATH directories.
    public func hasCommand(_ name: String) -> Bool {
        WGCommand.searchPath.contains { dir in
            guard let info = fileInfo(dir + "/" + name) else { return false }
            return !info.isDirectory && info.permissions & 0o111 != 0
        }
    }
}
