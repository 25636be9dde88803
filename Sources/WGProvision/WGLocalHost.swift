#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The real machine (or a chroot of one when `root` is not "/").
public final class WGLocalHost: WGHost {
    public let root: String

    public init(root: String = "/") {
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed.isEmpty ? "/" : trimmed
    }

    /// Where a system path lives on this machine's filesystem.
    func real(_ path: String) -> String {
        precondition(path.hasPrefix("/"), "host paths are absolute: \(path)")
        return root == "/" ? path : root + path
    }

    public func readFile(_ path: String) throws -> Data? {
        // open + read: one system call less than stat-then-read, and nothing of Foundation's file machinery.
        let fd = open(real(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw WGFileError.read(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw WGFileError.read(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return Data(bytes)
    }

    public func fileInfo(_ path: String) -> WGFileInfo? {
        var st = stat()
        let p = real(path)
        guard lstat(p, &st) == 0 else { return nil }
        let isLink = (st.st_mode & S_IFMT) == S_IFLNK
        var target: String?
        if isLink {
            target = try? FileManager.default.destinationOfSymbolicLink(atPath: p)
            var followed = stat()
            if stat(p, &followed) == 0 { st = followed }
        }
        return WGFileInfo(permissions: UInt32(st.st_mode) & 0o7777, uid: st.st_uid, gid: st.st_gid,
                          isDirectory: (st.st_mode & S_IFMT) == S_IFDIR, isSymlink: isLink, symlinkTarget: target)
    }

    public func listDirectory(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: real(path))) ?? []).sorted()
    }

    public func writeFileAtomically(_ path: String, contents: Data, permissions: UInt32) throws {
        let target = real(path)
        let dir = WGPath.deletingLastComponent(target)
        let temp = dir + "/.wgagent-" + UUID().uuidString.prefix(8) + ".tmp"
        // Created with the final mode (and umask 077 semantics): a secret is never readable, even for a moment.
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(permissions & 0o777))
        guard fd >= 0 else { throw WGFileError.create(path: path, reason: "\(String(cString: strerror(errno))) (is \(WGPath.deletingLastComponent(path)) there and writable?)") }
        var ok = false
        defer { if !ok { unlink(temp) } }
        let written = contents.withUnsafeBytes { buf -> Int in
            var off = 0
            while off < buf.count {
                let n = write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { if errno == EINTR { continue }; return -1 }
                off += n
            }
            return off
        }
        guard written == contents.count, fchmod(fd, mode_t(permissions)) == 0, fsync(fd) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw WGFileError.write(path: path, reason: why)
        }
        close(fd)
        guard rename(temp, target) == 0 else { throw WGFileError.replace(path: path, reason: String(cString: strerror(errno))) }
        ok = true
        // The rename itself must survive a crash: fsync the directory.
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    public func makeDirectory(_ path: String, permissions: UInt32) throws {
        let p = real(path)
        if mkdir(p, mode_t(permissions)) != 0 && errno != EEXIST {
            throw WGFileError.makeDirectory(path: path, reason: String(cString: strerror(errno)))
        }
        try setPermissions(path, permissions)
    }

    public func setPermissions(_ path: String, _ permissions: UInt32) throws {
        guard chmod(real(path), mode_t(permissions)) == 0 else {
            throw WGFileError.chmod(path: path, permissions: permissions, reason: String(cString: strerror(errno)))
        }
    }

    public func makeSymlink(_ path: String, target: String) throws {
        let p = real(path)
        unlink(p)
        guard symlink(target, p) == 0 else { throw WGFileError.link(path: path, target: target, reason: String(cString: strerror(errno))) }
    }

    public func removeFile(_ path: String) throws {
        if unlink(real(path)) != 0 && errno != ENOENT {
            throw WGFileError.remove(path: path, reason: String(cString: strerror(errno)))
        }
    }

    public func run(_ argv: [String], input: Data?, onLine: ((String) -> Void)?) throws -> WGCommandResult {
        precondition(!argv.isEmpty)
        // Inside a chroot, chroot looks the executable up with our PATH; here it must exist on this machine.
        let full = root == "/" ? argv : ["chroot", root] + argv
        // The callback runs on the runner's task while this thread waits for it: never at the same time as us.
        struct Callback: @unchecked Sendable { let call: (String) -> Void }
        var forward: (@Sendable (String) -> Void)?
        if let onLine {
            let callback = Callback(call: onLine)
            forward = { callback.call($0) }
        }
        return try WGCommand(full, input: input.map { [UInt8]($0) }).run(onLine: forward)
    }
}
