#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// Makes one health report from the machine: the interface's peers (`wg show IFACE dump`), forwarding, ufw state
/// and routed policy, the service, and the doctor's findings (which include key file modes).
public struct WGHealthCollector {
    public let doctor: WGDoctor
    var host: WGHost { doctor.host }

    public init(doctor: WGDoctor) { self.doctor = doctor }

    /// The report with this sequence number, and the findings it carries.
    public func collect(seq: Int64) -> (WGHealthReport, [WGFinding]) {
        let iface = doctor.interface
        let reading = doctor.readDump()
        let ufw = Result { try WGUfwFacts.read(host) }
        let findings = doctor.run(dump: reading, ufw: ufw)
        var report = WGHealthReport(seq: seq, agentTime: Int64(doctor.now().timeIntervalSince1970), interface: iface)
        if case .success(let dump) = reading {
            report.listenPort = dump.listenPort.map(Int.init)
            report.peers = dump.peers.map {
                WGHealthPeer(publicKey: $0.publicKey.base64, endpoint: $0.endpoint, latestHandshake: $0.latestHandshake,
                             receiveBytes: Int64(clamping: $0.receiveBytes), transmitBytes: Int64(clamping: $0.transmitBytes))
            }
        }
        if let v = (try? host.readText("/proc/sys/net/ipv4/ip_forward"))?.wgTrimmed() {
            report.forwarding = v == "1"
        }
        report.firewall = Self.firewallState(ufw)
        let service = doctor.facts.initSystem.wireguardService(iface)
        if let r = try? host.run(doctor.facts.initSystem.isActiveArgv(service)) {
            report.service = r.succeeded ? "active" : "inactive"
        }
        report.checks = findings.map(\.healthCheck)
        report.machine = WGMachineIdentity.read(host).fingerprint
        // The last `wgagent check-port`, when one ran.
        if let port = WGPortCheckStore.load(host) { report.checks.append(port.healthCheck) }
        return (report, findings)
    }

    /// "absent", "inactive", or "active, routed deny".
    static func firewallState(_ reading: Result<WGUfwFacts, any Error>) -> String {
        guard let ufw = try? reading.get(), ufw.installed else { return "absent" }
        guard ufw.active else { return "inactive" }
        return "active, routed " + ufw.routedPolicy
    }
}
