/// qemu-guest-agent on QEMU/Proxmox, so Proxmox sees the VM's addresses and can shut it down cleanly.
public struct WGGuestAgentResource: WGResource {
    public let name = "guest-agent"
    public init() {}

    static let virtioPort = "/dev/virtio-ports/org.qemu.guest_agent.0"

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        let mode = ctx.spec.guestAgent
        if mode == "no" { return .ok("not wanted (guest_agent: no)") }
        if mode == "auto" && !ctx.facts.isQEMU { return .ok("not a QEMU/Proxmox VM (DMI names no QEMU)") }
        let platform = ctx.facts.platform
        let pkg = platform.package("qemu-guest-agent")
        let installed = try (WGFileFacts.installedPackages(ctx.host, platform, among: [pkg])
            ?? platform.installedPackages(from: ctx.host.run(platform.queryArgv([pkg])).stdout)).contains(pkg)
        var changes: [WGChange] = []
        if !installed {
            changes.append(WGChange("install \(pkg)", .install(argv: platform.installArgv([pkg]), refresh: platform.refreshArgv, repair: platform.repairArgv)))
        }
        let initSystem = ctx.facts.initSystem
        let service = "qemu-guest-agent"
        // systemd starts it from udev when the virtio port appears (the unit is static); OpenRC needs the runlevel.
        if !initSystem.enablesPackagedServices {
            let enabled = try initSystem.isEnabled(service, on: ctx.host)
            if !enabled { changes.append(WGChange("enable \(service) at boot", .run(initSystem.enableArgv(service)))) }
        }
        if ctx.host.root == "/" && ctx.host.fileExists(Self.virtioPort) {
            let active = installed ? try ctx.host.run(initSystem.isActiveArgv(service)).succeeded : false
            if !active { changes.append(WGChange("start \(service)", .run(initSystem.startArgv(service)))) }
        }
        return changes.isEmpty ? .ok("\(pkg) installed\(initSystem.enablesPackagedServices ? "" : " and enabled")") : .change("QEMU/Proxmox VM without a running guest agent", changes)
    }
}
