#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a command printed and how it ended.
public struct WGCommandResult: Sendable, Equatable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var succeeded: Bool { status == 0 }

    public init(status: Int32 = 0, stdout: String = "", stderr: String = "") {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Mode, owner and kind of a file, as `stat` sees it.
public struct WGFileInfo: Sendable, Equatable {
    public var permissions: UInt32   // the low 12 bits: 0o600, 0o700, …
    public var uid: UInt32
    public var gid: UInt32
    public var isDirectory: Bool
    public var isSymlink: Bool
    public var symlinkTarget: String?

    public init(permissions: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, isDirectory: Bool = false,
                isSymlink: Bool = false, symlinkTarget: String? = nil) {
        self.permissions = permissions
        self.uid = uid
        self.gid = gid
        self.isDirectory = isDirectory
        self.isSymlink = isSymlink
        self.symlinkTarget = symlinkTarget
    }
}

public struct WGHostError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

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
    /// Runs argv (never through a shell). `onLine` sees each output line as it comes, for progress.
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
        WGHostPaths.searchPath.contains { dir in
            guard let info = fileInfo(dir + "/" + name) else { return false }
            return !info.isDirectory && info.permissions & 0o111 != 0
        }
    }
}

enum WGHostPaths {
    /// cloud-init and cron can start us with a PATH that lacks the sbin directories; commands get this one.
    static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    static let pathVariable = searchPath.joined(separator: ":")
}
