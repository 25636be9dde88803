/// ufw: default deny incoming, allow outgoing, SSH allowed *before* the firewall is enabled, the WireGuard
/// port open, and the routed rules a gateway needs — naming the interfaces found here, never hard-coded.
public struct WGFirewallResource: WGResource {
    public let name = "firewall"
    public init() {}

    /// The rules the spec needs, SSH first.
    static func wantedRules(_ ctx: WGContext) throws -> [String] {
        let spec = ctx.spec, wg = spec.interface
        var rules = ["allow \(ctx.facts.sshPort)/tcp"]
        for port in spec.allowedTCPPorts where port != ctx.facts.sshPort { rules.append("allow \(port)/tcp") }
        if let port = spec.listenPort, spec.role != .roadwarrior { rules.append("allow \(port)/udp") }
        guard spec.forwarding else { return rules }
        let egress = try ctx.facts.checkedEgressInterface()
        switch spec.role {
        case .hub:
            rules.append("route allow in on \(wg) out on \(wg)")
            if !spec.masqueradeSources.isEmpty, let egress { rules.append("route allow in on \(wg) out on \(egress)") }
        case .siteGateway:
            guard let egress else {
                throw WGResourceError.noDefaultRouteForGateway
            }
            rules.append("route allow in on \(wg) out on \(egress)")
            // route mode: LAN hosts start connections into the tunnel too.
            if spec.lanAccess == .route { rules.append("route allow in on \(egress) out on \(wg)") }
        case .roadwarrior:
            break
        }
        return rules
    }

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        guard ctx.spec.firewall else { return .ok("firewall not managed (firewall: false)") }
        let host = ctx.host
        let ufw = try WGUfwFacts.read(host)
        let installed = ufw.installed, current = ufw.rules, defaults = ufw.defaults, active = ufw.active
        let wanted = try Self.wantedRules(ctx)
        var changes: [WGChange] = []
        for rule in wanted where !current.contains(rule) {
            let why = rule == wanted.first ? "allow SSH first, so enabling cannot lock you out"
                : rule.hasPrefix("route ") ? "forward tunnel traffic: \(rule.dropFirst("route allow ".count))" : rule
            changes.append(WGChange(why, .run(["ufw"] + rule.split(separator: " ").map(String.init))))
        }
        // Routed rules for our interface that name another interface (an old egress) go.
        let wg = ctx.spec.interface
        for rule in current where rule.hasPrefix("route allow") && rule.contains(" on \(wg)") && !wanted.contains(rule) {
            let words = rule.split(separator: " ").map(String.init)
            changes.append(WGChange("remove stale rule \"\(rule)\"", .run(["ufw", "route", "delete"] + words.dropFirst())))
        }
        let want = WGUfwFacts.Defaults(incoming: "deny", outgoing: "allow", routed: "deny")
        for (dir, have, should) in [("incoming", defaults.incoming, want.incoming), ("outgoing", defaults.outgoing, want.outgoing),
                                    ("routed", defaults.routed, want.routed)] where have != should {
            changes.append(WGChange("default \(should) \(dir)", .run(["ufw", "default", should, dir])))
        }
        if !active {
            changes.append(WGChange("enable the firewall (SSH is allowed)", .run(["ufw", "--force", "enable"])))
        }
        let initSystem = ctx.facts.initSystem
        if !initSystem.enablesPackagedServices {
            var enabled = false
            if installed { enabled = try initSystem.isEnabled("ufw", on: host) }
            if !enabled { changes.append(WGChange("start ufw at boot", .run(initSystem.enableArgv("ufw")))) }
        }
        if changes.isEmpty {
            return .ok("active; deny incoming, allow outgoing; " + wanted.joined(separator: ", "))
        }
        return .change(installed ? (active ? "rules differ from the profile" : "ufw is not active") : "ufw is not installed yet", changes)
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
