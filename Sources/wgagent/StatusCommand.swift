import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGAgent
import WGModel

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the enrollment, the tunnel (peers, handshakes, bytes), the spool, and the doctor's findings."
    )

    @Flag(help: "One JSON object: {enrolled, hub_url, site_id, address, report, spool: {waiting, dropped}, findings}.")
    var json = false

    struct Status: Encodable {
        var enrolled: Bool
        var hubURL: String?
        var siteID: Int64?
        var address: String?
        var report: WGHealthReport
        var spool: [String: Int]
        var findings: [WGFinding]
        enum CodingKeys: String, CodingKey {
            case enrolled, address, report, spool, findings
            case hubURL = "hub_url"
            case siteID = "site_id"
        }
    }

    func run() throws {
        let ctx = try AgentContext.load(requireEnrollment: false)
        let doctor = ctx.doctor(interface: nil)
        let seq = WGReportSequence(host: ctx.host).last
        let (report, findings) = WGHealthCollector(doctor: doctor).collect(seq: seq)
        let spool = WGSpool(host: ctx.host)
        let e = ctx.enrollment
        if json {
            WGOutput.printJSON(Status(enrolled: e != nil, hubURL: e?.hubURL, siteID: e?.siteID, address: e?.address, report: report,
                                      spool: ["waiting": spool.pending().count, "dropped": spool.dropped], findings: findings))
            return
        }
        if let e {
            print("enrolled with \(e.hubURL) as site \(e.siteID.map(String.init) ?? "?") \"\(e.hostname)\", address \(e.address), profile \(e.profile)")
        } else {
            print("not enrolled (no \(WGEnrollmentStore.path))")
        }
        print("interface \(report.interface): service \(report.service ?? "?"), listen port \(report.listenPort.map(String.init) ?? "-"), forwarding \(report.forwarding.map { $0 ? "on" : "off" } ?? "?"), firewall \(report.firewall ?? "?")")
        let now = Int64(Date().timeIntervalSince1970)
        for p in report.peers {
            let hs = p.latestHandshake == 0 ? "never" : "\(now - p.latestHandshake) s ago"
            let who = p.publicKey == e?.hubPublicKey ? "hub " : "peer"
            print("  \(who) \(p.publicKey)  endpoint \(p.endpoint ?? "-")  handshake \(hs)  rx \(p.receiveBytes) tx \(p.transmitBytes)")
        }
        print("reports: last sequence \(seq), \(spool.pending().count) waiting in the spool, \(spool.dropped) dropped when it was full")
        WGOutput.findings(findings)
    }
}
