/// The tunnel as a service: systemd `wg-quick@wg0` or OpenRC `wg-quick.wg0` (with an init script from
/// Templates/ where the distribution ships none), enabled at boot, running, restarted when its config changed.
public struct WGServiceResource: WGResource {
    public let name = "service"
    public init() {}

    static let openrcScript = "/etc/init.d/wg-quick"

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        let initSystem = ctx.facts.initSystem
        let host = ctx.host
        let service = initSystem.wireguardService(ctx.spec.interface)
        var changes: [WGChange] = []
        if !initSystem.isSystemd {
            // Alpine's wireguard-tools-openrc has this script; Debian's wireguard-tools does not.
            if !host.fileExists(Self.openrcScript) {
                changes += try ctx.fileChanges(Self.openrcScript, contents: ctx.files.template("openrc-wg-quick.mustache"),
                                               permissions: 0o755, what: "OpenRC script")
            }
            let link = "/etc/init.d/\(service)"
            if host.fileInfo(link)?.symlinkTarget != "wg-quick" {
                changes.append(WGChange("link \(link) -> wg-quick", .symlink(path: link, target: "wg-quick")))
            }
        }
        let enabled = try initSystem.isEnabled(service, on: host)
        if !enabled { changes.append(WGChange("enable \(service) at boot", .run(initSystem.enableArgv(service)))) }
        // Starting makes sense only on the running system, not in a chroot of an image.
        if host.root == "/" {
            let active = try host.run(initSystem.isActiveArgv(service)).succeeded
            if !active {
                changes.append(WGChange("start \(service)", .run(initSystem.startArgv(service))))
            } else if ctx.willChange("interface-config") && !ctx.changedResources.contains(name) {
                // Only seen in a plan: apply's interface-config stops the tunnel before writing the new config
                // (see WGInterfaceConfigResource), so by the time this runs it is inactive and gets started.
                changes.append(WGChange("start \(service) with its new config (interface-config stops it first)",
                                        .run(initSystem.startArgv(service))))
            }
        }
        if changes.isEmpty { return .ok("\(service) enabled\(host.root == "/" ? " and running" : "")") }
        return .change("\(service) is not " + (enabled ? "running with the current config" : "enabled"), changes)
    }
}
