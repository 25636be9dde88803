#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// An in-memory machine for fast unit tests of facts, plans and argv: files in a dictionary, commands
/// recorded and answered by scripted responders. It fails closed: a command nobody answered throws
/// `WGFakeHostError.unanswered` (and is listed in `unanswered`) instead of reading as a success.
/// Never the only proof that something works.
public final class WGFakeHost: WGHost, @unchecked Sendable {
    public struct File: Equatable {
        public var data: Data
        public var info: WGFileInfo
    }

    public let root = "/"
    public private(set) var files: [String: File] = [:]
    public private(set) var commands: [[String]] = []
    /// Commands that were run but that no responder answered (each also threw).
    public private(set) var unanswered: [[String]] = []
    /// First responder whose prefix matches argv answers; an unmatched command throws.
    private var responders: [(prefix: [String], answer: ([String]) -> WGCommandResult)] = []

    public init() {}

    public func addFile(_ path: String, _ text: String, permissions: UInt32 = 0o644, uid: UInt32 = 0) {
        addDirectoryChain(WGPath.deletingLastComponent(path))
        files[path] = File(data: Data(text.utf8), info: WGFileInfo(permissions: permissions, uid: uid))
    }

    public func addDirectory(_ path: String, permissions: UInt32 = 0o755) {
        addDirectoryChain(WGPath.deletingLastComponent(path))
        files[path] = File(data: Data(), info: WGFileInfo(permissions: permissions, isDirectory: true))
    }

    private func addDirectoryChain(_ path: String) {
        guard path != "/" && !path.isEmpty, files[path] == nil else { return }
        addDirectoryChain(WGPath.deletingLastComponent(path))
        files[path] = File(data: Data(), info: WGFileInfo(permissions: 0o755, isDirectory: true))
    }

    public func addExecutable(_ name: String, in dir: String = "/usr/bin") {
        addFile(dir + "/" + name, "#!fake\n", permissions: 0o755)
    }

    /// Answers commands starting with `prefix`. Later registrations win over earlier ones.
    public func respond(to prefix: [String], _ answer: @escaping ([String]) -> WGCommandResult) {
        responders.insert((prefix, answer), at: 0)
    }

    public func respond(to prefix: [String], with result: WGCommandResult) {
        respond(to: prefix) { _ in result }
    }

    public func text(_ path: String) -> String? {
        files[path].map { String(decoding: $0.data, as: UTF8.self) }
    }

    public func clearCommands() { commands.removeAll() }

    // MARK: WGHost

    public func readFile(_ path: String) throws -> Data? {
        guard let f = files[path] else { return nil }
        if f.info.isDirectory { throw WGFileError.read(path: path, reason: "is a directory") }
        return f.data
    }

    public func fileInfo(_ path: String) -> WGFileInfo? { files[path]?.info }

    public func listDirectory(_ path: String) -> [String] {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return files.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
            .map { String($0.dropFirst(prefix.count)) }.sorted()
    }

    public func writeFileAtomically(_ path: String, contents: Data, permissions: UInt32) throws {
        let dir = WGPath.deletingLastComponent(path)
        guard files[dir]?.info.isDirectory == true else { throw WGFileError.create(path: path, reason: "no directory \(dir)") }
        var info = files[path]?.info ?? WGFileInfo(permissions: permissions)
        info.permissions = permissions
        files[path] = File(data: contents, info: info)
    }

    public func makeDirectory(_ path: String, permissions: UInt32) throws {
        let parent = WGPath.deletingLastComponent(path)
        guard files[parent]?.info.isDirectory == true else { throw WGFileError.makeDirectory(path: path, reason: "no \(parent)") }
        if files[path] == nil {
            files[path] = File(data: Data(), info: WGFileInfo(permissions: permissions, isDirectory: true))
        }
        files[path]?.info.permissions = permissions
    }

    public func setPermissions(_ path: String, _ permissions: UInt32) throws {
        guard files[path] != nil else { throw WGFileError.chmod(path: path, permissions: permissions, reason: "no such file") }
        files[path]?.info.permissions = permissions
    }

    public func makeSymlink(_ path: String, target: String) throws {
        files[path] = File(data: Data(), info: WGFileInfo(permissions: 0o777, isSymlink: true, symlinkTarget: target))
    }

    public func removeFile(_ path: String) throws { files[path] = nil }

    public func run(_ argv: [String], input: Data?, onLine: ((String) -> Void)?) throws -> WGCommandResult {
        commands.append(argv)
        for r in responders where argv.starts(with: r.prefix) {
            let result = r.answer(argv)
            if let onLine { (result.stdout + result.stderr).split(separator: "\n").forEach { onLine(String($0)) } }
            return result
        }
        unanswered.append(argv)
        throw WGFakeHostError.unanswered(argv: argv)
    }
}

/// What the fake host refuses, naming the way out for the test's author.
public enum WGFakeHostError: Error, CustomStringConvertible, Equatable {
    case unanswered(argv: [String])

    public var description: String {
        switch self {
        case .unanswered(let argv):
            return "fake host: nobody answers `\(argv.joined(separator: " "))` (add host.respond(to: \(Array(argv.prefix(2))), …) to the test)"
        }
    }
}
