/// The machine is not one wgagent can manage: what it is, and what is supported.
public enum WGPlatformError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No os-release under the root given.
    case notALinuxRoot(root: String)
    case tooOld(distribution: String, version: String, supported: String)
    case unsupported(prettyName: String, id: String, supported: String)

    public var description: String {
        switch self {
        case .notALinuxRoot(let root):
            return "no /etc/os-release under \(root): is this the root of a Linux system? (use --root DIR)"
        case .tooOld(let distribution, let version, let supported):
            return "\(distribution) \(version) is too old: wgagent supports \(supported)"
        case .unsupported(let pretty, let id, let supported):
            return "unsupported distribution \"\(pretty)\" (ID=\(id)): wgagent supports \(supported)"
        }
    }
}
