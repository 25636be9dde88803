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
    /// `dump`: a reading the caller already has (the reporter sends it too), so `wg` runs once per report.
    public func run(dump given: Result<WGDump, WGHostError>? = nil) -> [WGFinding] {
        let dump = given ?? readDump()
        let conf = readConfig()
        return [
            forwarding(), firewallRouted(), natEgress(conf), service(), handshake(dump), endpointDNS(dump, conf: conf),
            returnRoute(conf), keyModes(),
        ]
    }

    // MARK: shared readings

    /// `wg show IFACE dump`, or why it could not be read.
    func readDump() -> Result<WGDump, WGHostError> {
        do {
            let r = try host.run(["wg", "show", interface, "dump"])
            guard r.succeeded else {
                return .failure(WGHostError("`wg show \(interface) dump` exited \(r.status): \(r.stderr.wgTrimmed())"))
            }
            return .success(try WGDump.parse(r.stdout))
        } catch let e as WGHostError { return .failure(e) } catch { return .failure(WGHostError("\(error)")) }
    }

    /// ufw's state from its files and one `iptables` (WGFileFacts) where they are there, else `ufw status` (Python,
    /// ~10× the cost): the reporter asks every interval.
    func ufwIsActive() -> Bool {
        if host.fileExists("/etc/ufw/user.rules"), let active = try? WGFileFacts.ufwActive(host) { return active }
        return (try? host.run(["ufw", "status"]))?.stdout.contains("Status: active") == true
    }

    /// `ufw show added` lines ("ufw allow 22/tcp"), from /etc/ufw/user.rules where it is there.
    func ufwAddedLines() -> [String] {
        if let rules = WGFileFacts.ufwAddedRules(host) { return rules.map { "ufw " + $0 } }
        return ((try? host.run(["ufw", "show", "added"]))?.stdout ?? "").split(separator: "\n").map { $0.wgTrimmed(.whitespaces) }
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
