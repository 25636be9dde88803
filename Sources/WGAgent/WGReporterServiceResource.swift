#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGProvision

/// The reporter daemon (`wgagent report --interval N`) as a systemd unit or an OpenRC service, from Templates/.
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

    func unitPath(_ initSystem: WGInitSystem) -> String {
        initSystem.isSystemd ? "/etc/systemd/system/\(Self.service).service" : "/etc/init.d/\(Self.service)"
    }

    func render(_ ctx: WGContext) throws -> String {
        let name = ctx.facts.initSystem.isSystemd ? "wgagent-reporter.service.mustache" : "openrc-wgagent-reporter.mustache"
        return try WGTemplates.render(try ctx.files.template(name),
                                      ["agent": agentPath, "interval": "\(interval ?? ctx.spec.reportInterval)", "interface": ctx.spec.interface])
    }

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        let initSystem = ctx.facts.initSystem
        let host = ctx.host
        let path = unitPath(initSystem)
        var changes = try ctx.fileChanges(path, contents: try render(ctx), permissions: initSystem.isSystemd ? 0o644 : 0o755,
                                          what: initSystem.isSystemd ? "systemd unit" : "OpenRC script")
        let unitChanged = !changes.isEmpty
        if unitChanged && initSystem.isSystemd && host.root == "/" {
            changes.append(WGChange("reload systemd's units", .run(["systemctl", "daemon-reload"])))
        }
        var enabled = false
        if host.fileExists(path) {
            enabled = try initSystem.isEnabled(Self.service, on: host)
        }
        if !enabled { changes.append(WGChange("enable \(Self.service) at boot", .run(initSystem.enableArgv(Self.service)))) }
        if host.root == "/" {
            var active = false
            if host.fileExists(path) { active = try host.run(initSystem.isActiveArgv(Self.service)).succeeded }
            if !active {
                changes.append(WGChange("start \(Self.service)", .run(initSystem.startArgv(Self.service))))
            } else if unitChanged {
                changes.append(WGChange("restart \(Self.service): its unit changed", .run(initSystem.restartArgv(Self.service))))
            }
        }
        if changes.isEmpty { return .ok("\(Self.service) enabled\(host.root == "/" ? " and running" : ""), every \(interval ?? ctx.spec.reportInterval) s") }
        return .change("the reporter is not " + (unitChanged ? "installed as wanted" : enabled ? "running" : "enabled"), changes)
    }
}
