#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything a resource may look at while planning: the machine, its facts, the desired state, and
/// which resources already changed in this run (a changed wg0.conf means the service restarts).
public final class WGContext: @unchecked Sendable {
    public let host: WGHost
    public let facts: WGFacts
    public let spec: WGSpec
    public let files: WGFileSource
    public internal(set) var changedResources: Set<String> = []
    /// Resources planned (not applied) in a dry run: later resources must assume they are done.
    public internal(set) var pendingResources: Set<String> = []

    public init(host: WGHost, facts: WGFacts, spec: WGSpec, files: WGFileSource) {
        self.host = host
        self.facts = facts
        self.spec = spec
        self.files = files
    }

    /// Whether `resource` changed or would change in this run.
    public func willChange(_ resource: String) -> Bool {
        changedResources.contains(resource) || pendingResources.contains(resource)
    }
}
