#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One step that brings a resource closer to what the profile wants. Plan, dry-run, diff and the JSON
/// report are all views of a list of these; the applier is the only thing that carries them out.
public struct WGChange: Sendable {
    public enum Action: Sendable, Equatable {
        case run([String])
        /// Install packages. On failure: an interrupted earlier run is finished (`repair`), the index is
        /// refreshed, and the install retried once.
        case install(argv: [String], refresh: [String], repair: [String]?)
        case writeFile(path: String, contents: Data, permissions: UInt32)
        case makeDirectory(path: String, permissions: UInt32)
        case setPermissions(path: String, permissions: UInt32)
        case symlink(path: String, target: String)
        /// A new private key (0600, under umask 077) and its public key beside it. Never over an existing key.
        case generateKey(privatePath: String, publicPath: String)
        /// The public key derived again from the private key that is already there.
        case derivePublicKey(privatePath: String, publicPath: String)
    }

    public var summary: String
    public var action: Action
    /// For files: a unified diff with secrets redacted.
    public var diff: String?

    public init(_ summary: String, _ action: Action, diff: String? = nil) {
        self.summary = summary
        self.action = action
        self.diff = diff
    }

    public var argv: [String]? {
        switch action {
        case .run(let argv), .install(let argv, _, _): return argv
        default: return nil
        }
    }

    public var path: String? {
        switch action {
        case .writeFile(let p, _, _), .makeDirectory(let p, _), .setPermissions(let p, _), .symlink(let p, _): return p
        case .generateKey(let p, _), .derivePublicKey(let p, _): return p
        default: return nil
        }
    }
}

extension WGChange: Encodable {
    enum CodingKeys: String, CodingKey { case summary, kind, argv, path, mode, diff }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(summary, forKey: .summary)
        let kind: String
        var mode: UInt32?
        switch action {
        case .run: kind = "command"
        case .install: kind = "install"
        case .writeFile(_, _, let m): kind = "file"; mode = m
        case .makeDirectory(_, let m): kind = "directory"; mode = m
        case .setPermissions(_, let m): kind = "mode"; mode = m
        case .symlink: kind = "symlink"
        case .generateKey: kind = "generate-key"
        case .derivePublicKey: kind = "public-key"
        }
        try c.encode(kind, forKey: .kind)
        try c.encodeIfPresent(argv, forKey: .argv)
        try c.encodeIfPresent(path, forKey: .path)
        try c.encodeIfPresent(mode.map { "0" + String($0, radix: 8) }, forKey: .mode)
        try c.encodeIfPresent(diff, forKey: .diff)
    }
}
