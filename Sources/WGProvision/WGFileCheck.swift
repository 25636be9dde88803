#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WGContext {
    /// The changes (none, a chmod, or a write with its diff) that make `path` hold `contents` with `permissions`.
    public func fileChanges(_ path: String, contents: String, permissions: UInt32, what: String,
                     redact: (String) -> String = { $0 }) throws -> [WGChange] {
        let data = Data(contents.utf8)
        let current = try host.readFile(path)
        if let current, current == data {
            if let info = host.fileInfo(path), info.permissions != permissions {
                return [WGChange("set mode \(WGMode.text(permissions)) on \(path) (was \(WGMode.text(info.permissions)))",
                                 .setPermissions(path: path, permissions: permissions))]
            }
            return []
        }
        let diff = WGDiff.unified(old: current.map { redact(String(decoding: $0, as: UTF8.self)) }, new: redact(contents), path: path)
        let verb = current == nil ? "create" : "update"
        return [WGChange("\(verb) \(what) \(path) (\(WGMode.text(permissions)))",
                         .writeFile(path: path, contents: data, permissions: permissions), diff: diff)]
    }

    /// A directory with exactly `permissions`.
    public func directoryChanges(_ path: String, permissions: UInt32) -> [WGChange] {
        guard let info = host.fileInfo(path) else {
            return [WGChange("create directory \(path) (\(WGMode.text(permissions)))", .makeDirectory(path: path, permissions: permissions))]
        }
        if info.permissions != permissions {
            return [WGChange("set mode \(WGMode.text(permissions)) on \(path) (was \(WGMode.text(info.permissions)))",
                             .setPermissions(path: path, permissions: permissions))]
        }
        return []
    }
}

enum WGMode {
    static func text(_ mode: UInt32) -> String { "0" + String(mode, radix: 8) }
}
