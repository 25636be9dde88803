#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// `wgagent status`: the enrollment, the tunnel (peers, handshakes, bytes), the spool, and the doctor's findings.
public enum WGStatusView {
    /// The JSON form: {enrolled, hub_url, site_id, address, report, spool: {waiting, dropped}, findings}.
    public struct Status: Encodable {
        public var enrolled: Bool
        public var hubURL: String?
        public var siteID: Int64?
        public var address: String?
        public var report: WGHealthReport
        public var spool: [String: Int]
        public var findings: [WGFinding]
        enum CodingKeys: String, CodingKey {
            case enrolled, address, report, spool, findings
            case hubURL = "hub_url"
            case siteID = "site_id"
        }
    }

    public static func show(_ machine: WGMachine, json: Bool, output: WGOutput, now: Date = Date()) {
        let doctor = machine.doctor(interface: nil)
        let seq = WGReportSequence(host: machine.host).last
        let (report, findings) = WGHealthCollector(doctor: doctor).collect(seq: seq)
        let spool = WGSpool(host: machine.host)
        let e = machine.enrollment
        if json {
            output.printJSON(Status(enrolled: e != nil, hubURL: e?.hubURL, siteID: e?.siteID, address: e?.address, report: report,
                                    spool: ["waiting": spool.pending().count, "dropped": spool.dropped], findings: findings))
            return
        }
        if let e {
            output.line("enrolled with \(e.hubURL) as site \(e.siteID.map(String.init) ?? "?") \"\(e.hostname)\", address \(e.address), profile \(e.profile)")
        } else {
            output.line("not enrolled (no \(WGEnrollmentStore.path))")
        }
        output.line("interface \(report.interface): service \(report.service ?? "?"), listen port \(report.listenPort.map(String.init) ?? "-"), forwarding \(report.forwarding.map { $0 ? "on" : "off" } ?? "?"), firewall \(report.firewall ?? "?")")
        let now = Int64(now.timeIntervalSince1970)
        for p in report.peers {
            let hs = p.latestHandshake == 0 ? "never" : "\(now - p.latestHandshake) s ago"
            let who = p.publicKey == e?.hubPublicKey ? "hub " : "peer"
            output.line("  \(who) \(p.publicKey)  endpoint \(p.endpoint ?? "-")  handshake \(hs)  rx \(p.receiveBytes) tx \(p.transmitBytes)")
        }
        output.line("reports: last sequence \(seq), \(spool.pending().count) waiting in the spool, \(spool.dropped) dropped when it was full")
        output.findings(findings)
    }
}
