#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// Reads the machine (only through `WGHost`) and says what is wrong with the tunnel and how to fix it.
/// Never changes anything.
public struct WGDoctor {
    public let host: WGHost
    public let facts: WGFacts
    public let enrollment: WGEnrollment?
    public var interface: String
    /// A handshake older than this is stale (WireGuard re-handshakes every 2 minutes while traffic flows).
    public var staleAfter: Int64 = 180
    public var now: () -> Date = Date.init

    public init(host: WGHost, facts: WGFacts, enrollment: WGEnrollment?, interface: String? = nil) {
        self.host = host
        self.facts = facts
        self.enrollment = enrollment
        self.interface = interface ?? enrollment?.interface ?? "wg0"
    }

    /// Every check, in the order a person would look.
    /// `dump`, `ufw`: readings the caller already has (the reporter sends them too), so `wg` and ufw's `iptables`
    /// run once per report.
    public func run(dump given: WGDumpReading? = nil, ufw givenUfw: Result<WGUfwFacts, any Error>? = nil) -> [WGFinding] {
        let dump = given ?? readDump()
        let ufw = givenUfw ?? Result { try WGUfwFacts.read(host) }
        let conf = readConfig()
        return [
            forwarding(), firewallRouted(ufw), natEgress(conf), service(), handshake(dump), endpointDNS(dump, conf: conf),
            returnRoute(conf), keyModes(), identity(),
        ]
    }

    // MARK: shared readings

    /// `wg show IFACE dump`, or why it could not be read.
    func readDump() -> WGDumpReading {
        do {
            let argv = ["wg", "show", interface, "dump"]
            let r = try host.run(argv)
            guard r.succeeded else { return .failure(WGCommandError.failed(argv: argv, status: r.status, stderr: r.stderr)) }
            return .success(try WGDump.parse(r.stdout))
        } catch { return .failure(error) }
    }

    func readConfig() -> WGQuickConfig? {
        let path = "/etc/wireguard/\(interface).conf"
        guard let text = try? host.readText(path) else { return nil }
        return try? WGQuickConfig.parse(text, source: path)
    }

    /// The hub peer: the enrolled hub's key, else the first peer with an endpoint.
    func hubPeer(_ dump: WGDump) -> WGDumpPeer? {
        if let key = enrollment?.hubPublicKey { return dump.peers.first { $0.publicKey.base64 == key } }
        return dump.peers.first { $0.endpoint != nil }
    }

    /// route, masquerade or none: what wg0.conf does, else (no file) what the enrollment asked for.
    func lanAccess(_ conf: WGQuickConfig?) -> String {
        // What wg0.conf does is what runs: `apply --var lan_access=…` may have changed it since enrollment.
        if let conf {
            if conf.interface.postUp.contains(where: { $0.contains("MASQUERADE") }) { return "masquerade" }
            // No NAT and a peer that is not a full tunnel: a gateway in route mode.
            if conf.peers.contains(where: { $0.allowedIPs.allSatisfy { $0.prefixLength > 0 } }) { return "route" }
            return "none"
        }
        if let v = enrollment?.vars.last(where: { $0.hasPrefix("lan_access=") }) { return String(v.dropFirst("lan_access=".count)) }
        return enrollment != nil ? "masquerade" : "unknown"
    }
}

/// `wg show IFACE dump`, parsed, or why not (the command failed, or printed something unreadable).
public typealias WGDumpReading = Result<WGDump, any Error>
