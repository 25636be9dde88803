/// The enrollment file is missing where one is needed, or not one this agent can read.
public enum WGEnrollmentFileError: Error, CustomStringConvertible, Equatable, Sendable {
    case notEnrolled(path: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .notEnrolled(let path):
            return "this machine is not enrolled (no \(path)): run `wgagent enroll --hub URL --token TOKEN --pin PIN` first"
        case .unreadable(let path, let why):
            return "\(path) is not an enrollment file this agent can read (\(why)): move it away and run `wgagent enroll` again"
        }
    }
}
