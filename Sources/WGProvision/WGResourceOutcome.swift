#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One resource's outcome in a run.
public struct WGResourceOutcome: Sendable, Encodable {
    public enum Status: String, Sendable, Encodable {
        case ok, changed, failed
        /// Dry run: would change.
        case pending
        /// Not reached because an earlier resource failed.
        case skipped
    }
    public var name: String
    public var status: Status
    public var reason: String
    public var changes: [WGChange]
    public var error: String?
}
