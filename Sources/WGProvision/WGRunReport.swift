#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A whole run: the report for humans and for `--json`.
public struct WGRunReport: Sendable, Encodable {
    public var dryRun: Bool
    public var resources: [WGResourceOutcome]

    public var changed: Int { resources.filter { $0.status == .changed || $0.status == .pending }.count }
    public var ok: Int { resources.filter { $0.status == .ok }.count }
    public var failed: Int { resources.filter { $0.status == .failed }.count }
    public var converged: Bool { failed == 0 && !resources.contains { $0.status == .skipped } }

    enum CodingKeys: String, CodingKey { case dryRun = "dry_run", changed, ok, failed, resources }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dryRun, forKey: .dryRun)
        try c.encode(changed, forKey: .changed)
        try c.encode(ok, forKey: .ok)
        try c.encode(failed, forKey: .failed)
        try c.encode(resources, forKey: .resources)
    }
}
