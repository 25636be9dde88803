/// IP forwarding for gateways and hubs: a drop-in for boot, and the running value now.
public struct WGSysctlResource: WGResource {
    public let name = "sysctl"
    public static let dropIn = "/etc/sysctl.d/99-wgagent.conf"
    public init() {}

    /// (sysctl key, /proc path) pairs the spec needs set to 1.
    static func settings(_ spec: WGSpec) -> [(key: String, proc: String)] {
        guard spec.forwarding else { return [] }
        var s = [(key: "net.ipv4.ip_forward", proc: "/proc/sys/net/ipv4/ip_forward")]
        if spec.hasIPv6 { s.append((key: "net.ipv6.conf.all.forwarding", proc: "/proc/sys/net/ipv6/conf/all/forwarding")) }
        return s
    }

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        let settings = Self.settings(ctx.spec)
        guard !settings.isEmpty else { return .ok("no forwarding needed for \(ctx.spec.role.rawValue)") }
        let text = try WGTemplates.render(ctx.files.template("sysctl.conf.mustache"),
                                          ["settings": settings.map { ["key": $0.key, "value": "1"] }])
        var changes = try ctx.fileChanges(Self.dropIn, contents: text, permissions: 0o644, what: "sysctl drop-in")
        // The running value: only meaningful on the live system, not in a chroot of an image.
        if ctx.host.root == "/" {
            for s in settings {
                let now = (try ctx.host.readText(s.proc))?.wgTrimmed()
                if now != "1" {
                    changes.append(WGChange("set \(s.key) = 1 now (is \(now ?? "unknown"))", .run(["sysctl", "-w", "\(s.key)=1"])))
                }
            }
        }
        if changes.isEmpty {
            return .ok(settings.map { "\($0.key) = 1" }.joined(separator: ", ") + ", now and at boot")
        }
        return .change("forwarding is not on" + (changes.count == 1 && changes[0].argv != nil ? " in the running kernel" : ""), changes)
    }
}
