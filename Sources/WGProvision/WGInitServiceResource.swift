#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// A service under the machine's init system — the tunnel (`wg-quick@wg0` / `wg-quick.wg0`) or the reporter —
/// with its unit file, enabled at boot, running, restarted when its unit changed. Which argv and paths: the init
/// system's row (WGInitSystem); what is specific to the service: its `WGServiceDefinition`.
public struct WGInitServiceResource: WGResource {
    public let name: String
    let define: @Sendable (WGContext) throws -> WGServiceDefinition

    public init(name: String, define: @escaping @Sendable (WGContext) throws -> WGServiceDefinition) {
        self.name = name
        self.define = define
    }

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        let initSystem = ctx.facts.initSystem
        let host = ctx.host
        let def = try define(ctx)
        let service = def.service
        var changes: [WGChange] = []
        var unitChanged = false
        switch def.unit {
        case .packaged:
            if case .sharedScript(let path, let template, let link) = initSystem.tunnelUnit {
                if !host.fileExists(path) {
                    changes += try ctx.fileChanges(path, contents: ctx.files.template(template), permissions: initSystem.unitMode,
                                                   what: initSystem.unitKind)
                }
                let linkPath = initSystem.unitPath(service)
                if host.fileInfo(linkPath)?.symlinkTarget != link {
                    changes.append(WGChange("link \(linkPath) -> \(link)", .symlink(path: linkPath, target: link)))
                }
            }
        case .rendered(let values):
            let path = initSystem.unitPath(service)
            let text = try WGTemplates.render(try ctx.files.template(initSystem.unitTemplate(service)), values)
            changes += try ctx.fileChanges(path, contents: text, permissions: initSystem.unitMode, what: initSystem.unitKind)
            unitChanged = !changes.isEmpty
            if unitChanged, let reload = initSystem.reloadUnits, host.root == "/" {
                changes.append(WGChange("reload \(initSystem.name)'s units", .run(reload)))
            }
        }
        // A rendered unit that is not there yet cannot be asked about.
        let unitThere: Bool
        if case .rendered = def.unit { unitThere = host.fileExists(initSystem.unitPath(service)) } else { unitThere = true }
        let enabled = unitThere ? try initSystem.isEnabled(service, on: host) : false
        if !enabled { changes.append(WGChange("enable \(service) at boot", .run(initSystem.enableArgv(service)))) }
        // Starting makes sense only on the running system, not in a chroot of an image.
        if host.root == "/" {
            let active = unitThere ? try host.run(initSystem.isActiveArgv(service)).succeeded : false
            if !active {
                changes.append(WGChange("start \(service)", .run(initSystem.startArgv(service))))
            } else if unitChanged {
                changes.append(WGChange("restart \(service): its unit changed", .run(initSystem.restartArgv(service))))
            } else if let config = def.restartWhenChanging, ctx.willChange(config) && !ctx.changedResources.contains(name) {
                // Only seen in a plan: apply's interface-config stops the tunnel before writing the new config
                // (see WGInterfaceConfigResource), so by the time this runs it is inactive and gets started.
                changes.append(WGChange("start \(service) with its new config (\(config) stops it first)",
                                        .run(initSystem.startArgv(service))))
            }
        }
        if changes.isEmpty { return .ok("\(service) enabled\(host.root == "/" ? " and running" : "")\(def.detail)") }
        return .change("\(def.title) is not " + (unitChanged ? "installed as wanted" : !enabled ? "enabled" : def.notRunning), changes)
    }
}

/// What one service is, beyond what the init system's row says.
public struct WGServiceDefinition: Sendable {
    public enum Unit: Sendable {
        /// The package ships it (systemd's wg-quick@.service), or the init system's shared script serves it.
        case packaged
        /// Ours: rendered from the init system's unit template with these values, kept in line.
        case rendered(values: [String: String])
    }

    public var service: String
    public var unit: Unit
    /// The resource whose change restarts the service (the tunnel's config).
    public var restartWhenChanging: String?
    /// How it is named in a reason ("the reporter"; the service name by default).
    public var title: String
    /// What "not running" means for it ("running with the current config").
    public var notRunning: String
    /// Appended to an ok ("every 60 s").
    public var detail: String

    public init(service: String, unit: Unit, restartWhenChanging: String? = nil, title: String? = nil,
                notRunning: String = "running", detail: String = "") {
        self.service = service
        self.unit = unit
        self.restartWhenChanging = restartWhenChanging
        self.title = title ?? service
        self.notRunning = notRunning
        self.detail = detail
    }
}

extension WGInitServiceResource {
    /// The tunnel as a service, restarted with its new config when interface-config changes it.
    public static let tunnel = WGInitServiceResource(name: "service") { ctx in
        WGServiceDefinition(service: ctx.facts.initSystem.wireguardService(ctx.spec.interface), unit: .packaged,
                            restartWhenChanging: "interface-config", notRunning: "running with the current config")
    }
}
