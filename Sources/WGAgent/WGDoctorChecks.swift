#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// The doctor's checks, one function each; every reading goes through `host`.
extension WGDoctor {
    func forwarding() -> WGFinding {
        let fix = "sysctl -w net.ipv4.ip_forward=1, then `wgagent apply` to make it permanent (/etc/sysctl.d/99-wgagent.conf)"
        guard let v = (try? host.readText("/proc/sys/net/ipv4/ip_forward"))?.wgTrimmed() else {
            return WGFinding("forwarding", .unknown, "cannot read /proc/sys/net/ipv4/ip_forward")
        }
        if v == "1" { return WGFinding("forwarding", .ok, "IPv4 forwarding is on") }
        return WGFinding("forwarding", .problem, "IPv4 forwarding is off (net.ipv4.ip_forward=\(v)): nothing passes between the tunnel and the LAN", fix: fix)
    }

    /// The enrollment belongs to this machine, not to the one this disk was cloned from.
    func identity() -> WGFinding {
        let name = "identity"
        guard let enrollment else { return WGFinding(name, .unknown, "not enrolled") }
        guard enrollment.machine != nil else { return WGFinding(name, .unknown, "the enrollment does not name its machine (made by an older agent)") }
        if let why = enrollment.cloneReason(host) {
            return WGFinding(name, .problem,
                             "this machine is not the one enrolled as site \(enrollment.siteID.map(String.init) ?? "?") (\(why)): a clone, holding the original's key and credential, which it does not use",
                             fix: "`wgagent enroll --hub \(enrollment.hubURL) --token TOKEN` with a token from `wghub token create` gives it a key and address of its own")
        }
        return WGFinding(name, .ok, "the enrollment was made on this machine")
    }

    /// ufw's routed policy drops forwarded packets unless a `route allow` rule lets tunnel traffic out to the egress.
    func firewallRouted(_ reading: Result<WGUfwFacts, any Error>) -> WGFinding {
        let name = "firewall-routed"
        guard let ufw = try? reading.get() else { return WGFinding(name, .unknown, "cannot read ufw's state") }
        guard ufw.installed else { return WGFinding(name, .ok, "ufw is not installed: it filters nothing") }
        guard ufw.active else { return WGFinding(name, .ok, "ufw is inactive: it filters nothing") }
        let policy = ufw.routedPolicy
        guard policy != "allow" else { return WGFinding(name, .ok, "ufw's routed policy is allow") }
        guard let egress = facts.egressInterface else {
            return WGFinding(name, .unknown, "no default route: cannot tell which interface forwarded traffic should leave by")
        }
        let rules = ufw.rules.filter { $0.hasPrefix("route allow") }
        let want = "route allow in on \(interface) out on \(egress)"
        if rules.contains(where: { $0 == want || $0.hasPrefix(want + " ") }) {
            return WGFinding(name, .ok, "ufw routes \(interface) -> \(egress) (routed policy \(policy))")
        }
        let stale = rules.filter { $0.contains("in on \(interface) out on ") }
        let seen = stale.isEmpty ? "no rule lets \(interface) traffic out" : "only \(stale.map { "\"ufw \($0)\"" }.joined(separator: ", ")), which name another interface"
        return WGFinding(name, .problem,
                         "ufw's routed policy is \(policy) and \(seen) to \(egress): forwarded tunnel traffic is dropped",
                         fix: "`ufw route allow in on \(interface) out on \(egress)` (or `wgagent apply`, which adds it)")
    }

    /// MASQUERADE rules (live and in wg0.conf) must name the interface of the default route.
    func natEgress(_ conf: WGQuickConfig?) -> WGFinding {
        let name = "nat-egress"
        guard let egress = facts.egressInterface else { return WGFinding(name, .unknown, "no default route: no egress interface to compare with") }
        var named: [(String, String)] = []   // (where, interface)
        if let conf {
            for line in conf.interface.postUp where line.contains("MASQUERADE") {
                if let o = Self.outInterface(line) { named.append(("\(interface).conf", o)) }
            }
        }
        if let live = try? host.run(["iptables", "-t", "nat", "-S", "POSTROUTING"]), live.succeeded {
            for line in live.stdout.split(separator: "\n") where line.contains("MASQUERADE") {
                if let o = Self.outInterface(String(line)) { named.append(("the live NAT table", o)) }
            }
        }
        let wrong = named.filter { $0.1 != egress }
        if let w = wrong.first {
            return WGFinding(name, .problem,
                             "a NAT rule in \(w.0) names \(w.1), but the egress interface (default route) is now \(egress): masqueraded traffic does not leave",
                             fix: "`wgagent apply` rewrites \(interface).conf for \(egress) and restarts the tunnel")
        }
        if named.isEmpty { return WGFinding(name, .ok, "no masquerading (route mode or not a gateway)") }
        return WGFinding(name, .ok, "NAT names \(egress), the egress interface")
    }

    static func outInterface(_ rule: String) -> String? {
        let words = rule.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ";" }).map(String.init)
        guard let i = words.firstIndex(where: { $0 == "-o" || $0 == "--out-interface" }), i + 1 < words.count else { return nil }
        return words[i + 1]
    }

    func service() -> WGFinding {
        let s = facts.initSystem.wireguardService(interface)
        guard let r = try? host.run(facts.initSystem.isActiveArgv(s)) else { return WGFinding("service", .unknown, "cannot ask \(facts.initSystem.name) about \(s)") }
        if r.succeeded { return WGFinding("service", .ok, "\(s) is running") }
        let logs = facts.initSystem.logs(s)
        return WGFinding("service", .problem, "\(s) is not running",
                         fix: "`\(facts.initSystem.startArgv(s).joined(separator: " "))`; if it fails, see `\(logs)`")
    }

    func handshake(_ reading: WGDumpReading) -> WGFinding {
        let name = "handshake"
        let dump: WGDump
        switch reading {
        case .failure(let e):
            return WGFinding(name, .problem, "\(interface) is not up (\(e))", fix: "start the tunnel: `\(facts.initSystem.startArgv(facts.initSystem.wireguardService(interface)).joined(separator: " "))`")
        case .success(let d): dump = d
        }
        guard let peer = hubPeer(dump) else {
            return WGFinding(name, .problem, "\(interface) has no hub peer\(enrollment.map { " (\($0.hubPublicKey))" } ?? "")",
                             fix: "`wgagent apply` (or `wgagent enroll` again) writes the hub peer into \(interface).conf")
        }
        let target = enrollment?.hubEndpoint ?? peer.endpoint ?? "the hub"
        let fix = "check that UDP from here reaches \(target) (the hub's firewall and port, this network's egress filtering) and that the hub lists this site (`wghub` dashboard)"
        if peer.latestHandshake == 0 {
            return WGFinding(name, .problem, "no handshake with the hub yet", fix: fix)
        }
        let age = Int64(now().timeIntervalSince1970) - peer.latestHandshake
        if age > staleAfter {
            return WGFinding(name, .problem, "the last handshake with the hub was \(age) s ago (stale after \(staleAfter) s)", fix: fix)
        }
        return WGFinding(name, .ok, "handshake with the hub \(max(age, 0)) s ago\(peer.endpoint.map { " via \($0)" } ?? "")")
    }

    /// A hub endpoint given by name must still resolve to where the tunnel sends.
    func endpointDNS(_ dump: WGDumpReading, conf: WGQuickConfig? = nil) -> WGFinding {
        let name = "endpoint-dns"
        // The name as configured (enrollment, then wg0.conf); the live dump only ever shows the resolved address.
        let configured = enrollment?.hubEndpoint ?? conf?.peers.first(where: { $0.endpoint != nil })?.endpoint?.description
        guard let text = configured ?? (try? dump.get()).flatMap({ hubPeer($0)?.endpoint }),
              let endpoint = try? WGEndpoint(text) else {
            return WGFinding(name, .unknown, "no hub endpoint known (not enrolled)")
        }
        if endpoint.address != nil { return WGFinding(name, .ok, "the hub endpoint \(endpoint) is an address: nothing to resolve") }
        let r = try? host.run(["getent", "ahosts", endpoint.host])
        let addresses = Set((r?.succeeded == true ? r!.stdout : "").split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        guard !addresses.isEmpty else {
            return WGFinding(name, .problem, "\(endpoint.host) no longer resolves",
                             fix: "check this machine's DNS (/etc/resolv.conf) and the hub's DNS record; the tunnel keeps the address it resolved when it started")
        }
        guard let live = (try? dump.get()).flatMap({ hubPeer($0)?.endpoint }), let liveEndpoint = try? WGEndpoint(live) else {
            return WGFinding(name, .ok, "\(endpoint.host) resolves to \(addresses.sorted().joined(separator: ", "))")
        }
        if addresses.contains(liveEndpoint.host) {
            return WGFinding(name, .ok, "\(endpoint.host) resolves to \(liveEndpoint.host), where the tunnel sends")
        }
        return WGFinding(name, .problem,
                         "\(endpoint.host) resolves to \(addresses.sorted().joined(separator: ", ")), but the tunnel sends to \(liveEndpoint.host) (resolved when it started)",
                         fix: "if the hub moved, restart the tunnel so it resolves again (`\(facts.initSystem.restartArgv(facts.initSystem.wireguardService(interface)).joined(separator: " "))`); otherwise fix the DNS record")
    }

    /// Route mode: the LAN router must send replies for the tunnel subnet back to this VM. Tested by pinging the
    /// router from the tunnel address: without the return route the reply never comes back.
    func returnRoute(_ conf: WGQuickConfig?) -> WGFinding {
        let name = "return-route"
        let mode = lanAccess(conf)
        if mode == "unknown" { return WGFinding(name, .unknown, "no \(interface).conf: cannot tell the LAN access mode") }
        guard mode == "route" else { return WGFinding(name, .ok, "lan_access \(mode): LAN hosts need no return route") }
        guard let tunnel = conf?.interface.addresses.first(where: { !$0.isIPv6 }) else {
            return WGFinding(name, .unknown, "no IPv4 tunnel address in \(interface).conf")
        }
        guard let route = try? host.run(["ip", "-4", "route", "show", "default"]), let gateway = Self.word(after: "via", in: route.stdout),
              let egress = facts.egressInterface else {
            return WGFinding(name, .unknown, "no default gateway: cannot tell which LAN router needs the route")
        }
        let lanIP = (try? host.run(["ip", "-4", "route", "show", "dev", egress, "scope", "link"])).flatMap { Self.word(after: "src", in: $0.stdout) }
            ?? "this VM's LAN address"
        let net = tunnel.network
        let fix = "on the LAN router \(gateway) add a route to \(net) via \(lanIP) (e.g. `ip route add \(net) via \(lanIP)`), "
            + "or switch to masquerade: `wgagent apply … --var lan_access=masquerade`"
        guard host.hasCommand("ping") else {
            return WGFinding(name, .unknown, "route mode: the LAN router \(gateway) needs a route to \(net) via \(lanIP); cannot test it without ping (install iputils-ping)", fix: fix)
        }
        let r = try? host.run(["ping", "-c", "1", "-W", "2", "-I", tunnel.address.description, gateway])
        if r?.succeeded == true {
            return WGFinding(name, .ok, "the LAN router \(gateway) answers to the tunnel address \(tunnel.address): it routes \(net) back to this VM")
        }
        return WGFinding(name, .problem,
                         "route mode, but the LAN router \(gateway) does not answer to the tunnel address \(tunnel.address): LAN hosts send replies for \(net) to their default route, not back to this VM",
                         fix: fix)
    }

    static func word(after key: String, in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let w = line.split(separator: " ").map(String.init)
            if let i = w.firstIndex(of: key), i + 1 < w.count { return w[i + 1] }
        }
        return nil
    }

    func keyModes() -> WGFinding {
        var wanted: [(String, UInt32)] = [("/etc/wireguard", 0o700), ("/etc/wireguard/\(interface).key", 0o600),
                                          ("/etc/wireguard/\(interface).conf", 0o600)]
        if enrollment != nil { wanted += [(WGEnrollmentStore.directory, 0o700), (WGEnrollmentStore.path, 0o600)] }
        var wrong: [String] = []
        var fixes: [String] = []
        for (path, mode) in wanted {
            guard let info = host.fileInfo(path) else { continue }
            if info.permissions & 0o777 != mode {
                wrong.append("\(path) is \(String(info.permissions, radix: 8)), not \(String(mode, radix: 8))")
                fixes.append("chmod \(String(mode, radix: 8)) \(path)")
            }
        }
        if wrong.isEmpty { return WGFinding("key-modes", .ok, "key, config and enrollment files are owner-only") }
        return WGFinding("key-modes", .problem, wrong.joined(separator: "; "), fix: "`\(fixes.joined(separator: "; "))`, and consider the key exposed if others could read it")
    }
}
