import Foundation
import WGModel

/// The hub's WireGuard interface, as the hub changes it: one peer at a time, never a full rewrite, so live
/// sessions of other peers are never touched. Tests use a fake; `wghub serve` uses `WGCommandControl`.
public protocol WGInterfaceControl: Sendable {
    var interfaceName: String { get }
    /// `wg show NAME dump`, parsed.
    func dump() throws -> WGDump
    /// `wg set NAME peer KEY allowed-ips A,B,…` (creates or updates the peer; its session survives).
    func setPeer(publicKey: String, allowedIPs: [String]) throws
    /// `wg set NAME peer KEY remove`.
    func removePeer(publicKey: String) throws
    /// `ip route replace SUBNET dev NAME`: a site's LAN goes through the tunnel.
    func addRoute(_ subnet: String) throws
    /// `ip route del SUBNET dev NAME`; a missing route is not an error.
    func removeRoute(_ subnet: String) throws
    /// The hub machine's own addresses, routes and gateways (`ip addr`, `ip route`): what no site may claim.
    func hostNetworks() throws -> WGHostNetworks
}

public struct WGCommandError: Error, CustomStringConvertible {
    public let argv: [String]
    public let status: Int32
    public let stderr: String
    public var description: String {
        "`\(argv.joined(separator: " "))` exited \(status): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

/// Runs argv arrays (never a shell string). Returns stdout; throws `WGCommandError` on a non-zero exit.
public protocol WGCommandRunner: Sendable {
    func run(_ argv: [String]) throws -> String
}

public struct WGProcessRunner: WGCommandRunner {
    /// A `wg` or `ip` that hangs is terminated after this long (the caller's thread is one of a few).
    public var timeout: TimeInterval
    public init(timeout: TimeInterval = 15) { self.timeout = timeout }

    public func run(_ argv: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.resolve(argv[0]))
        p.arguments = Array(argv.dropFirst())
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        final class Box: @unchecked Sendable { var data = Data(); var timedOut = false }
        let errBox = Box(), errDone = DispatchSemaphore(value: 0)
        // Bounded: a timer (no thread held) terminates a child that outlives the timeout.
        let deadline = DispatchWorkItem { if p.isRunning { errBox.timedOut = true; p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
        defer { deadline.cancel() }
        // Read both pipes before waiting so a large output cannot block the child. stderr on a thread of its
        // own: a blocking read must not hold a libdispatch worker, which Swift's async code shares on Linux.
        let reader = Thread {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            errDone.signal()
        }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        errDone.wait()
        let errData = errBox.data
        p.waitUntilExit()
        if errBox.timedOut {
            throw WGCommandError(argv: argv, status: -1, stderr: "no answer within \(Int(timeout)) s: terminated")
        }
        guard p.terminationStatus == 0 else {
            throw WGCommandError(argv: argv, status: p.terminationStatus, stderr: String(decoding: errData, as: UTF8.self))
        }
        return String(decoding: outData, as: UTF8.self)
    }

    static func resolve(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin"] {
            let path = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/" + name
    }
}

/// The real interface through `wg` and `ip`.
public struct WGCommandControl: WGInterfaceControl {
    public let interfaceName: String
    let runner: any WGCommandRunner
    /// argv prefix for every command, e.g. `["ip", "netns", "exec", "NS"]` in system tests.
    let prefix: [String]

    public init(interface: String, runner: any WGCommandRunner = WGProcessRunner(), prefix: [String] = []) {
        self.interfaceName = interface
        self.runner = runner
        self.prefix = prefix
    }

    public func dump() throws -> WGDump {
        try WGDump.parse(try runner.run(prefix + ["wg", "show", interfaceName, "dump"]))
    }

    public func setPeer(publicKey: String, allowedIPs: [String]) throws {
        _ = try runner.run(prefix + ["wg", "set", interfaceName, "peer", publicKey, "allowed-ips", allowedIPs.joined(separator: ",")])
    }

    public func removePeer(publicKey: String) throws {
        _ = try runner.run(prefix + ["wg", "set", interfaceName, "peer", publicKey, "remove"])
    }

    public func addRoute(_ subnet: String) throws {
        _ = try runner.run(prefix + ["ip", subnet.contains(":") ? "-6" : "-4", "route", "replace", subnet, "dev", interfaceName])
    }

    public func hostNetworks() throws -> WGHostNetworks {
        var addresses = "", routes = ""
        for family in ["-4", "-6"] {
            addresses += try runner.run(prefix + ["ip", "-o", family, "addr", "show"])
            routes += try runner.run(prefix + ["ip", family, "route", "show", "table", "main"])
        }
        return WGHostNetworks.parse(addresses: addresses, routes: routes, interface: interfaceName)
    }

    public func removeRoute(_ subnet: String) throws {
        do {
            _ = try runner.run(prefix + ["ip", subnet.contains(":") ? "-6" : "-4", "route", "del", subnet, "dev", interfaceName])
        } catch let e as WGCommandError where e.stderr.contains("No such process") || e.stderr.contains("not found") {
            // already gone
        }
    }
}

/// No interface (development, benchmarks): peers are only kept in the store. The hub's public key is given.
public struct WGNoInterfaceControl: WGInterfaceControl {
    public let interfaceName = "none"
    let publicKey: WGKey
    public init(publicKey: WGKey) { self.publicKey = publicKey }
    public func dump() throws -> WGDump { WGDump(publicKey: publicKey) }
    public func setPeer(publicKey: String, allowedIPs: [String]) throws {}
    public func removePeer(publicKey: String) throws {}
    public func addRoute(_ subnet: String) throws {}
    public func removeRoute(_ subnet: String) throws {}
    public func hostNetworks() throws -> WGHostNetworks { WGHostNetworks() }
}

/// Brings the interface in line with the store. What is routed for a site is the policy's decision
/// (`WGLANPolicy`): granted, announced and safe; everything else stays out of allowed-ips and the routing table.
public struct WGInterfaceSync: Sendable {
    public let control: any WGInterfaceControl
    public let pool: WGAddressPool

    public init(control: any WGInterfaceControl, pool: WGAddressPool) {
        self.control = control
        self.pool = pool
    }

    public func allowedIPs(for site: WGSite, routed: [String]) -> [String] { [pool.hostRoute(site.address)] + routed }

    /// After an enrollment: one `wg set` for this peer, routes for its routed LANs, stale routes dropped.
    public func apply(_ outcome: WGEnrollOutcome) throws {
        try control.setPeer(publicKey: outcome.site.publicKey, allowedIPs: allowedIPs(for: outcome.site, routed: outcome.routed))
        for subnet in outcome.routed { try control.addRoute(subnet) }
        for old in outcome.previousRouted where !outcome.routed.contains(old) { try control.removeRoute(old) }
    }

    /// After a grant changed: the same for one site whose routed set went from `before` to `after`.
    public func update(_ site: WGSite, routed after: [String], before: [String]) throws {
        try control.setPeer(publicKey: site.publicKey, allowedIPs: allowedIPs(for: site, routed: after))
        for subnet in after { try control.addRoute(subnet) }
        for old in before where !after.contains(old) { try control.removeRoute(old) }
    }

    public func remove(_ site: WGSite, routed: [String]) throws {
        try control.removePeer(publicKey: site.publicKey)
        for subnet in routed { try control.removeRoute(subnet) }
    }

    public struct Report: Sendable, Equatable {
        public var added: [String] = []
        public var updated: [String] = []
        public var removed: [String] = []
        public var unchanged: [String] = []
        /// Routes on the interface that no site has routed any more (e.g. claimed before routes were granted).
        public var routesRemoved: [String] = []
    }

    /// On start (and when the CLI changed the store): add missing peers, fix wrong allowed-ips, remove peers the
    /// store does not know and routes on the interface no site has routed. Peers already right are not touched,
    /// so their sessions (handshake, counters) go on.
    @discardableResult
    public func reconcile(sites: [WGSite], policy: WGLANPolicy) throws -> Report {
        let dump = try control.dump()
        var report = Report()
        var live: [String: Set<String>] = [:]
        for p in dump.peers { live[p.publicKey.base64] = Set(p.allowedIPs.map { $0.network.description }) }
        var wantedRoutes = Set<String>()
        for site in sites {
            let routed = policy.routed(site, others: sites.filter { $0.id != site.id })
            let want = allowedIPs(for: site, routed: routed)
            let wantSet = Set(want.compactMap { try? WGCIDR($0).network.description })
            if let have = live[site.publicKey] {
                if have == wantSet {
                    report.unchanged.append(site.publicKey)
                } else {
                    try control.setPeer(publicKey: site.publicKey, allowedIPs: want)
                    report.updated.append(site.publicKey)
                }
            } else {
                try control.setPeer(publicKey: site.publicKey, allowedIPs: want)
                report.added.append(site.publicKey)
            }
            for subnet in routed { try control.addRoute(subnet); wantedRoutes.insert(subnet) }
        }
        let known = Set(sites.map(\.publicKey))
        for key in live.keys.sorted() where !known.contains(key) {
            try control.removePeer(publicKey: key)
            report.removed.append(key)
        }
        for route in policy.host.tunnelRoutes.map({ $0.description }) where !wantedRoutes.contains(route) && route != pool.description {
            try control.removeRoute(route)
            report.routesRemoved.append(route)
        }
        return report
    }
}
