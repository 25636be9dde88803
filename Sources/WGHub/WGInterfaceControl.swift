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
    public init() {}

    public func run(_ argv: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.resolve(argv[0]))
        p.arguments = Array(argv.dropFirst())
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Read both pipes before waiting so a large output cannot block the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
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
}

/// Brings the interface in line with the store.
public struct WGInterfaceSync: Sendable {
    public let control: any WGInterfaceControl
    public let pool: WGAddressPool

    public init(control: any WGInterfaceControl, pool: WGAddressPool) {
        self.control = control
        self.pool = pool
    }

    public func allowedIPs(for site: WGSite) -> [String] { [pool.hostRoute(site.address)] + site.lanSubnets }

    /// After an enrollment: one `wg set` for this peer, routes for its LANs, stale routes of the old record dropped.
    public func apply(_ outcome: WGEnrollOutcome) throws {
        try control.setPeer(publicKey: outcome.site.publicKey, allowedIPs: allowedIPs(for: outcome.site))
        for subnet in outcome.site.lanSubnets { try control.addRoute(subnet) }
        for old in outcome.previous?.lanSubnets ?? [] where !outcome.site.lanSubnets.contains(old) {
            try control.removeRoute(old)
        }
    }

    public func remove(_ site: WGSite) throws {
        try control.removePeer(publicKey: site.publicKey)
        for subnet in site.lanSubnets { try control.removeRoute(subnet) }
    }

    public struct Report: Sendable, Equatable {
        public var added: [String] = []
        public var updated: [String] = []
        public var removed: [String] = []
        public var unchanged: [String] = []
    }

    /// On start: add missing peers, fix wrong allowed-ips, remove peers the store does not know. Peers already
    /// right are not touched, so their sessions (handshake, counters) go on.
    @discardableResult
    public func reconcile(sites: [WGSite]) throws -> Report {
        let dump = try control.dump()
        var report = Report()
        var live: [String: Set<String>] = [:]
        for p in dump.peers { live[p.publicKey.base64] = Set(p.allowedIPs.map { $0.network.description }) }
        for site in sites {
            let want = allowedIPs(for: site)
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
            for subnet in site.lanSubnets { try control.addRoute(subnet) }
        }
        let known = Set(sites.map(\.publicKey))
        for key in live.keys.sorted() where !known.contains(key) {
            try control.removePeer(publicKey: key)
            report.removed.append(key)
        }
        return report
    }
}
