#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// Facts the system already keeps in files (/proc, dpkg's and apk's databases, ufw's rules, init symlinks), read
/// instead of spawning `ip`, `dpkg-query`, `ufw` (Python) and `systemctl`: a no-op apply then runs almost nothing.
/// Each returns nil when its file is not there (an unusual system, a test's fake host); the caller then asks the
/// program, as before. Positive answers only where a file can be wrong in one direction (see `enabled`).
public enum WGFileFacts {
    /// The IPv4 default route's interface and the subnets directly on it (`ip -4 route show default` and
    /// `ip -4 route show dev X scope link`), from the main table in /proc/net/route. Only on the live system:
    /// under --root the routes are still the host's, which the programs give as well.
    public static func routes(_ host: WGHost) -> (egress: String?, subnets: [String])? {
        guard host.root == "/", let text = try? host.readText("/proc/net/route") else { return nil }
        struct Route { var iface: String; var dest: [UInt8]; var gateway: UInt32; var flags: UInt32; var metric: Int; var mask: [UInt8] }
        func octets(_ hex: Substring) -> [UInt8]? {
            // The kernel prints the address as it sits in memory (network order) read as a host-order u32.
            guard let v = UInt32(hex, radix: 16) else { return nil }
            return withUnsafeBytes(of: v) { Array($0) }
        }
        var routes: [Route] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard f.count >= 8, let dest = octets(f[1]), let gw = UInt32(f[2], radix: 16), let flags = UInt32(f[3], radix: 16),
                  let metric = Int(f[6]), let mask = octets(f[7]) else { continue }
            routes.append(Route(iface: String(f[0]), dest: dest, gateway: gw, flags: flags, metric: metric, mask: mask))
        }
        let up: UInt32 = 0x1, viaGateway: UInt32 = 0x2
        let defaults = routes.filter { $0.flags & up != 0 && $0.dest == [0, 0, 0, 0] && $0.mask == [0, 0, 0, 0] }
        guard let egress = defaults.min(by: { $0.metric < $1.metric })?.iface else { return (nil, []) }
        var subnets: [String] = []
        for r in routes where r.iface == egress && r.flags & up != 0 && r.flags & viaGateway == 0 && r.gateway == 0
            && r.mask != [0, 0, 0, 0] && r.mask != [255, 255, 255, 255] {
            let bits = r.mask.reduce(0) { $0 + $1.nonzeroBitCount }
            let s = r.dest.map(String.init).joined(separator: ".") + "/\(bits)"
            if !subnets.contains(s) { subnets.append(s) }
        }
        return (egress, subnets)
    }

    /// Installed packages among `names`, from /var/lib/dpkg/status (want install, state installed: dpkg-query's
    /// "ii") or /lib/apk/db/installed.
    public static func installedPackages(_ host: WGHost, _ platform: WGPlatform, among names: [String]) -> Set<String>? {
        guard let text = try? host.readText(platform.packageManager.database) else { return nil }
        return platform.packageManager.installed(fromDatabase: text, among: Set(names))
    }

    /// ufw's added rules as `ufw show added` prints them (without "ufw "), from the `### tuple ###` lines of
    /// /etc/ufw/user.rules, for the forms wgagent writes: `allow PORT/PROTO` and `route allow in on A out on B`.
    /// Other forms come back as `tuple: …`, which matches no wanted rule and is never taken for a stale one.
    public static func ufwAddedRules(_ host: WGHost) -> [String]? {
        guard let text = try? host.readText("/etc/ufw/user.rules") else { return nil }
        var rules: [String] = []
        for line in text.split(separator: "\n") where line.hasPrefix("### tuple ### ") {
            let t = line.dropFirst("### tuple ### ".count).split(separator: " ").map(String.init)
            let rule = ufwRule(t) ?? "tuple: " + t.joined(separator: " ")
            if !rules.contains(rule) { rules.append(rule) }
        }
        return rules
    }

    /// action proto dport dst sport src direction[_iface] → the ufw command line.
    static func ufwRule(_ t: [String]) -> String? {
        guard t.count == 7 else { return nil }
        let (action, proto, dport, dst, sport, src, dir) = (t[0], t[1], t[2], t[3], t[4], t[5], t[6])
        let anyAddr = ["0.0.0.0/0", "::/0"]
        guard anyAddr.contains(dst), anyAddr.contains(src), sport == "any" else { return nil }
        if action.hasPrefix("route:") {
            // route:allow any any 0.0.0.0/0 any 0.0.0.0/0 in_wg0!out_ens18
            guard proto == "any", dport == "any" else { return nil }
            var parts: [String] = []
            for side in dir.split(separator: "!") {
                let pair = side.split(separator: "_", maxSplits: 1)
                guard pair.count == 2, pair[0] == "in" || pair[0] == "out" else { return nil }
                parts.append("\(pair[0]) on \(pair[1])")
            }
            return "route \(action.dropFirst("route:".count)) " + parts.joined(separator: " ")
        }
        guard dir == "in", dport != "any" else { return nil }
        return proto == "any" ? "\(action) \(dport)" : "\(action) \(dport)/\(proto)"
    }

    /// Whether ufw is running: enabled in ufw.conf and its chains loaded (what `ufw status` checks) — one small
    /// `iptables` instead of `ufw status` (Python). nil when ufw.conf is not there.
    public static func ufwActive(_ host: WGHost) throws -> Bool? {
        guard let conf = try host.readText("/etc/ufw/ufw.conf") else { return nil }
        let enabled = conf.split(separator: "\n").contains { $0.wgTrimmed(.whitespaces).replacing("\"", with: "") == "ENABLED=yes" }
        guard enabled else { return false }
        return try host.run(["iptables", "-w", "-n", "-L", "ufw-user-input"]).succeeded
    }

    /// true when the init system's boot symlink for `service` is there (systemd's multi-user.target.wants, OpenRC's
    /// default runlevel), nil otherwise: a unit can be enabled through another target, so only a yes is trusted.
    public static func enabled(_ host: WGHost, _ initSystem: WGInitSystem, _ service: String) -> Bool? {
        let values = ["service": service]
        if let masked = initSystem.maskedUnit, host.fileInfo(WGArgvTemplate.fill(text: masked, values))?.symlinkTarget == "/dev/null" {
            return nil
        }
        return host.fileInfo(WGArgvTemplate.fill(text: initSystem.enabledLink, values)) != nil ? true : nil
    }
}

extension WGInitSystem {
    /// Enabled at boot: the symlink when it is there, else the init system's answer.
    public func isEnabled(_ service: String, on host: WGHost) throws -> Bool {
        if WGFileFacts.enabled(host, self, service) == true { return true }
        return isEnabled(service, result: try host.run(isEnabledArgv(service)))
    }
}
