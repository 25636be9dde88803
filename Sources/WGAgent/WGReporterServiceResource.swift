#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGProvision

/// The reporter daemon (`wgagent report --interval N`) as a service of the init system (WGInitServiceResource),
/// its unit rendered from Templates/.
/// Part of `apply` only once the machine is enrolled (see `WGAgentApply.resources`).
public struct WGReporterServiceResource: WGResource {
    public let name = "reporter"
    public static let service = "wgagent-reporter"
    public var agentPath: String
    /// nil: the profile's report_interval (60 s unless given).
    public var interval: Int?

    public init(agentPath: String = WGReporterServiceResource.runningAgent(), interval: Int? = nil) {
        self.agentPath = agentPath
        self.interval = interval
    }

    /// The binary that is running (so the unit starts the same one), /usr/local/bin/wgagent when unknown.
    public static func runningAgent() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/usr/local/bin/wgagent"
    }

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        let interval = interval ?? ctx.spec.reportInterval
        let values = ["agent": agentPath, "interval": "\(interval)", "interface": ctx.spec.interface]
        return try WGInitServiceResource(name: name) { _ in
            WGServiceDefinition(service: Self.service, unit: .rendered(values: values), title: "the reporter",
                                detail: ", every \(interval) s")
        }.plan(ctx)
    }
}
