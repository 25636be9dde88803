import WGModel
import WGProcess

/// The real interface through `wg` and `ip`.
public struct WGCommandControl: WGInterfaceControl {
    public let interfaceName: String
    /// argv prefix for every command, e.g. `["ip", "netns", "exec", "NS"]` in system tests.
    let prefix: [String]
    /// A `wg` or `ip` that hangs is killed after this long (the caller's thread is one of a few).
    let timeout: Duration

    public init(interface: String, prefix: [String] = [], timeout: Duration = .seconds(15)) {
        self.interfaceName = interface
        self.prefix = prefix
        self.timeout = timeout
    }

    /// stdout of a command that must succeed. Runs on a blocking-work thread (see WGBlockingWork), never a task's.
    func run(_ argv: [String]) throws -> String {
        let result = try WGCommand(prefix + argv, timeout: timeout).run()
        guard result.succeeded else { throw WGCommandError.failed(argv: prefix + argv, status: result.status, stderr: result.stderr) }
        return result.stdout
    }

    public func dump() throws -> WGDump {
        try WGDump.parse(try run(["wg", "show", interfaceName, "dump"]))
    }

    public func setPeer(publicKey: String, allowedIPs: [String]) throws {
        _ = try run(["wg", "set", interfaceName, "peer", publicKey, "allowed-ips", allowedIPs.joined(separator: ",")])
    }

    public func removePeer(publicKey: String) throws {
        _ = try run(["wg", "set", interfaceName, "peer", publicKey, "remove"])
    }

    public func addRoute(_ subnet: String) throws {
        _ = try run(["ip", subnet.contains(":") ? "-6" : "-4", "route", "replace", subnet, "dev", interfaceName])
    }

    public func hostNetworks() throws -> WGHostNetworks {
        var addresses = "", routes = ""
        for family in ["-4", "-6"] {
            addresses += try run(["ip", "-o", family, "addr", "show"])
            routes += try run(["ip", family, "route", "show", "table", "main"])
        }
        return WGHostNetworks.parse(addresses: addresses, routes: routes, interface: interfaceName)
    }

    public func removeRoute(_ subnet: String) throws {
        do {
            _ = try run(["ip", subnet.contains(":") ? "-6" : "-4", "route", "del", subnet, "dev", interfaceName])
        } catch let e as WGCommandError where e.stderr.contains("No such process") || e.stderr.contains("not found") {
            // already gone
        }
    }
}
