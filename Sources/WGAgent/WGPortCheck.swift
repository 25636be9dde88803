#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import WGModel
import WGProvision

/// What `wgagent check-port` concluded.
public enum WGPortVerdict: String, Codable, Sendable {
    case forwarded
    case notReaching = "not reaching the VM"
    case droppedByFirewall = "reaching the VM but dropped by its firewall"
}

/// `wgagent check-port --json`, and what the health report carries (port-check.json).
public struct WGPortCheckResult: Codable, Sendable, Equatable {
    public var verdict: WGPortVerdict
    public var port: Int
    public var probeID: String
    public var sentTo: String
    /// How the agent watched.
    public var watchedWith: String
    /// The nonce seen (nil when nothing arrived within the timeout).
    public var nonce: String?
    /// What the hub stored: open, closed, mismatch.
    public var hubVerdict: String?
    /// What to look at, in order.
    public var causes: [String]
    /// Unix seconds.
    public var checkedAt: Int64

    enum CodingKeys: String, CodingKey {
        case verdict, port, nonce, causes
        case probeID = "probe_id"
        case sentTo = "sent_to"
        case watchedWith = "watched_with"
        case hubVerdict = "hub_verdict"
        case checkedAt = "checked_at"
    }

    public var healthCheck: WGHealthCheck {
        WGHealthCheck(name: "port_forward", ok: verdict == .forwarded,
                      detail: "UDP \(port): \(verdict.rawValue)" + (causes.first.map { "; \($0)" } ?? ""))
    }
}

/// Asks the hub for a probe and watches for it: the verdict, also posted to the hub.
public struct WGPortChecker {
    let client: WGHTTPClient
    let credential: String
    public var port: Int
    public var timeout: Double
    /// The listener past the firewall (bound socket, or raw IP socket while WireGuard holds the port).
    public var openListener: (Int) throws -> any WGProbeListener
    /// An optional view before the firewall (AF_PACKET); nil when it cannot be had.
    public var openLinkView: ((Int) -> (any WGProbeListener)?)?
    /// `ufw show added` and `ufw status` facts for the causes (nil: no ufw).
    public var ufwAllows: ((Int) -> Bool?)?

    public init(client: WGHTTPClient, credential: String, port: Int, timeout: Double,
                openListener: @escaping (Int) throws -> any WGProbeListener = { try WGProbeListeners.open(port: $0) }) {
        self.client = client
        self.credential = credential
        self.port = port
        self.timeout = timeout
        self.openListener = openListener
    }

    public func run(now: () -> Date = Date.init) throws -> WGPortCheckResult {
        let listener = try openListener(port)
        defer { listener.close() }
        let link = openLinkView?(port)
        defer { link?.close() }
        let probe: WGProbeResponse = try client.post("/v1/probe", WGProbeRequest(port: port), bearer: credential)
        let deadline = now().addingTimeInterval(timeout)

        // The link view watches on its own thread over the same window.
        final class Box: @unchecked Sendable {
            var nonce: String?
            let link: (any WGProbeListener)?
            init(_ link: (any WGProbeListener)?) { self.link = link }
        }
        let linkSeen = Box(link)
        let group = DispatchGroup()
        if link != nil {
            let id = probe.probeID
            DispatchQueue.global().async(group: group) {
                while let p = try? linkSeen.link!.next(until: deadline) {
                    if p.probeID == id { linkSeen.nonce = p.nonce; break }
                }
            }
        }
        var seen: String?
        while let p = try listener.next(until: deadline) {
            if p.probeID == probe.probeID { seen = p.nonce; break }
        }
        if link != nil { _ = group.wait(timeout: .now() + max(0, deadline.timeIntervalSince(now())) + 1) }

        let verdict: WGPortVerdict
        var causes: [String] = []
        if seen != nil {
            verdict = .forwarded
        } else if linkSeen.nonce != nil {
            verdict = .droppedByFirewall
            causes.append("the datagram arrived on this machine's interface but its firewall did not let it in: `ufw allow \(port)/udp` (or the matching iptables/nftables INPUT rule)")
        } else {
            verdict = .notReaching
            causes.append("the router has no port forward for UDP \(port) to this machine (add one: UDP \(port) → this machine's LAN address, port \(port))")
            causes.append("the connection is behind carrier-grade NAT (the router's WAN address is not \(probe.sentTo.split(separator: ":").dropLast().joined(separator: ":")) or is in 100.64.0.0/10): no forward can work; keep the outbound tunnel, or ask the ISP for a public address")
            causes.append("an upstream firewall (ISP, cloud security group) drops UDP \(port)")
            if ufwAllows?(port) == false {
                causes.insert("this machine's firewall (ufw) is active and does not allow \(port)/udp, so the datagram may have been dropped here: `ufw allow \(port)/udp`", at: 0)
            }
        }
        // Posted only when the listener past the firewall saw it: anything else is closed for WireGuard.
        var hubVerdict: String?
        do {
            let v: WGProbeVerdict = try client.post("/v1/probe/\(probe.probeID)/result", WGProbeResult(nonce: seen, verdict: verdict.rawValue), bearer: credential)
            hubVerdict = v.verdict
        } catch {
            causes.append("the result could not be posted to the hub: \(error)")
        }
        return WGPortCheckResult(verdict: verdict, port: port, probeID: probe.probeID, sentTo: probe.sentTo,
                                 watchedWith: listener.description + (link.map { " + " + $0.description } ?? ""),
                                 nonce: seen ?? linkSeen.nonce, hubVerdict: hubVerdict, causes: causes,
                                 checkedAt: Int64(now().timeIntervalSince1970))
    }

    /// check-port as the CLI, `enroll` and `apply` run it for an enrolled machine: the enrollment's hub and
    /// credential, an AF_PACKET view and ufw facts where they can be had; the result is kept for the health report.
    public static func runForEnrollment(host: WGHost, enrollment e: WGEnrollment, port: Int? = nil,
                                        timeout: Double = 5) throws -> WGPortCheckResult {
        let port = port ?? listenPort(host: host, enrollment: e, interface: e.interface)
        var checker = WGPortChecker(client: try e.client(connectTimeout: 10, timeout: 20), credential: e.credential,
                                    port: port, timeout: timeout)
        checker.openLinkView = { try? WGRawProbeListener(port: $0, view: .link) }
        checker.ufwAllows = { WGPortChecker.ufwAllows(host: host, port: $0) }
        let result = try checker.run()
        try? WGPortCheckStore.save(result, host: host)
        return result
    }

    /// The listen port: ListenPort in IFACE.conf, else the enrollment's, else 51820.
    public static func listenPort(host: WGHost, enrollment: WGEnrollment?, interface: String) -> Int {
        if let text = try? host.readText("/etc/wireguard/\(interface).conf") {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.wgTrimmed(.whitespaces) }
                if parts.count == 2, parts[0].lowercased() == "listenport", let p = Int(parts[1]), (1...65535).contains(p) { return p }
            }
        }
        return enrollment?.listenPort ?? 51820
    }

    /// nil when ufw is absent or inactive; else whether `ufw show added` allows PORT/udp (or PORT for any protocol).
    public static func ufwAllows(host: WGHost, port: Int) -> Bool? {
        guard host.hasCommand("ufw"), (try? host.run(["ufw", "status"]))?.stdout.contains("Status: active") == true else { return nil }
        let added = (try? host.run(["ufw", "show", "added"]))?.stdout ?? ""
        for line in added.split(separator: "\n") where line.contains("allow") {
            let words = line.split(separator: " ").map(String.init)
            if words.contains("\(port)/udp") || words.contains("\(port)") { return true }
        }
        return false
    }
}

/// The last check-port result, for the health report: /var/lib/wgagent/port-check.json.
public enum WGPortCheckStore {
    public static let path = WGState.directory + "/port-check.json"

    public static func save(_ r: WGPortCheckResult, host: WGHost) throws {
        try WGEnrollmentStore.ensureDirectory(host)
        try host.writeFileAtomically(path, contents: try JSONEncoder().encode(r), permissions: 0o644)
    }

    public static func load(_ host: WGHost) -> WGPortCheckResult? {
        guard let data = try? host.readFile(path) else { return nil }
        return try? JSONDecoder().decode(WGPortCheckResult.self, from: data)
    }
}
