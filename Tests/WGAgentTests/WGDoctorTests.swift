import Foundation
import WGModel
import WGProvision
import WGProvisionTesting
import XCTest

@testable import WGAgent

/// Each doctor check on a fake machine: healthy first, then that one thing broken.
final class WGDoctorTests: XCTestCase {
    let hubKey = WGKey.generatePrivate().publicKey.base64
    let me = WGKey.generatePrivate()

    func enrollment(endpoint: String = "203.0.113.1:51820", vars: [String] = []) -> WGEnrollment {
        WGEnrollment(
            hubURL: "https://203.0.113.1:8443", pin: nil, caFile: nil, insecureHTTP: false, credential: "wgc_x", siteID: 1,
            hostname: "site-a", profile: "site-gateway", interface: "wg0", publicKey: me.publicKey.base64, listenPort: 51820,
            address: "192.0.2.2/24", hubPublicKey: hubKey, hubEndpoint: endpoint, allowedIPs: ["192.0.2.0/24"], keepalive: 25,
            vars: vars, enrolledAt: 0, machine: WGMachineIdentity())
    }

    /// A converged, healthy site gateway: forwarding, ufw active with the route rule, NAT on ens18, handshake 10 s ago.
    func healthy(masquerade: Bool = true, handshakeAgo: Int64 = 10, endpoint: String = "203.0.113.1:51820") -> WGFakeHost {
        let host = fakeDebian()
        host.addDirectory("/etc/wireguard", permissions: 0o700)
        host.addFile("/etc/wireguard/wg0.key", me.base64 + "\n", permissions: 0o600)
        let nat = masquerade ? "PostUp = iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -o ens18 -j MASQUERADE\n" : ""
        host.addFile("/etc/wireguard/wg0.conf", """
            [Interface]
            PrivateKey = \(me.base64)
            Address = 192.0.2.2/24
            ListenPort = 51820
            \(nat)
            [Peer]
            PublicKey = \(hubKey)
            AllowedIPs = 192.0.2.0/24
            Endpoint = \(endpoint)
            PersistentKeepalive = 25
            """, permissions: 0o600)
        host.addExecutable("ufw", in: "/usr/sbin")
        host.addFile("/etc/default/ufw", "DEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_FORWARD_POLICY=\"DROP\"\n")
        host.respond(to: ["ufw", "status"], with: WGCommandResult(stdout: "Status: active\n"))
        host.respond(to: ["ufw", "show", "added"], with: WGCommandResult(stdout: "Added user rules (see 'ufw status' for running firewall):\nufw allow 22/tcp\nufw allow 51820/udp\nufw route allow in on wg0 out on ens18\n"))
        host.respond(to: ["iptables", "-t", "nat", "-S", "POSTROUTING"], with: WGCommandResult(
            stdout: "-P POSTROUTING ACCEPT\n" + (masquerade ? "-A POSTROUTING -s 192.0.2.0/24 -o ens18 -j MASQUERADE\n" : "")))
        let hs = Int64(Date().timeIntervalSince1970) - handshakeAgo
        let live = (try? WGEndpoint(endpoint))?.address != nil ? endpoint : "203.0.113.1:51820"
        host.respond(to: ["wg", "show", "wg0", "dump"], with: WGCommandResult(
            stdout: "\(me.base64)\t\(me.publicKey.base64)\t51820\toff\n\(hubKey)\t(none)\t\(live)\t192.0.2.0/24\t\(hs)\t100\t200\t25\n"))
        host.respond(to: ["systemctl", "is-active"], with: WGCommandResult(status: 0))
        return host
    }

    func findings(_ host: WGFakeHost, _ e: WGEnrollment?) throws -> [String: WGFinding] {
        let list = WGDoctor(host: host, facts: try WGFacts.gather(host), enrollment: e).run()
        return Dictionary(uniqueKeysWithValues: list.map { ($0.check, $0) })
    }

    func testHealthyMachineHasNoProblems() throws {
        let f = try findings(healthy(), enrollment())
        XCTAssertEqual(f.count, 9)
        for (name, finding) in f { XCTAssertEqual(finding.verdict, .ok, "\(name): \(finding.detail)") }
        XCTAssertEqual(f["handshake"]?.detail.hasPrefix("handshake with the hub"), true)
    }

    func testForwardingOff() throws {
        let host = healthy()
        host.addFile("/proc/sys/net/ipv4/ip_forward", "0\n")
        let f = try XCTUnwrap(try findings(host, enrollment())["forwarding"])
        XCTAssertEqual(f.verdict, .problem)
        XCTAssertTrue(f.fix?.contains("sysctl -w net.ipv4.ip_forward=1") == true)
    }

    func testUfwRoutedPolicyDropsWithoutTheRouteRule() throws {
        let host = healthy()
        host.respond(to: ["ufw", "show", "added"], with: WGCommandResult(stdout: "ufw allow 22/tcp\nufw route allow in on wg0 out on ens3\n"))
        let f = try XCTUnwrap(try findings(host, enrollment())["firewall-routed"])
        XCTAssertEqual(f.verdict, .problem)
        XCTAssertTrue(f.detail.contains("routed policy is deny") && f.detail.contains("ens3"), f.detail)
        XCTAssertEqual(f.fix?.contains("ufw route allow in on wg0 out on ens18"), true)
        // With an ACCEPT routed policy the same rules are fine.
        host.addFile("/etc/default/ufw", "DEFAULT_FORWARD_POLICY=\"ACCEPT\"\n")
        XCTAssertEqual(try findings(host, enrollment())["firewall-routed"]?.verdict, .ok)
    }

    func testNATRuleNamingAnotherInterface() throws {
        let host = healthy()
        host.respond(to: ["iptables", "-t", "nat", "-S", "POSTROUTING"], with: WGCommandResult(stdout: "-A POSTROUTING -s 192.0.2.0/24 -o ens3 -j MASQUERADE\n"))
        let f = try XCTUnwrap(try findings(host, enrollment())["nat-egress"])
        XCTAssertEqual(f.verdict, .problem)
        XCTAssertTrue(f.detail.contains("names ens3") && f.detail.contains("now ens18"), f.detail)
        XCTAssertTrue(f.fix?.contains("wgagent apply") == true)
    }

    func testServiceStopped() throws {
        let host = healthy()
        host.respond(to: ["systemctl", "is-active"], with: WGCommandResult(status: 3))
        let f = try XCTUnwrap(try findings(host, enrollment())["service"])
        XCTAssertEqual(f.verdict, .problem)
        XCTAssertEqual(f.fix?.contains("systemctl start wg-quick@wg0"), true)
    }

    func testStaleAndMissingHandshake() throws {
        let stale = try XCTUnwrap(try findings(healthy(handshakeAgo: 600), enrollment())["handshake"])
        XCTAssertEqual(stale.verdict, .problem)
        XCTAssertTrue(stale.detail.contains("600 s ago") || stale.detail.contains("601 s ago"), stale.detail)
        let host = healthy()
        host.respond(to: ["wg", "show", "wg0", "dump"], with: WGCommandResult(
            stdout: "\(me.base64)\t\(me.publicKey.base64)\t51820\toff\n\(hubKey)\t(none)\t203.0.113.1:51820\t192.0.2.0/24\t0\t0\t148\t25\n"))
        let never = try XCTUnwrap(try findings(host, enrollment())["handshake"])
        XCTAssertEqual(never.detail, "no handshake with the hub yet")
        XCTAssertTrue(never.fix?.contains("203.0.113.1:51820") == true)
        host.respond(to: ["wg", "show", "wg0", "dump"], with: WGCommandResult(status: 1, stderr: "Unable to access interface: No such device"))
        let down = try XCTUnwrap(try findings(host, enrollment())["handshake"])
        XCTAssertEqual(down.verdict, .problem)
        XCTAssertTrue(down.detail.contains("not up"), down.detail)
    }

    func testEndpointNameNoLongerResolvingToTheHub() throws {
        let host = healthy()
        let e = enrollment(endpoint: "hub.example.net:51820")
        host.respond(to: ["getent", "ahosts", "hub.example.net"], with: WGCommandResult(stdout: "203.0.113.1   STREAM hub.example.net\n203.0.113.1  DGRAM\n"))
        XCTAssertEqual(try findings(host, e)["endpoint-dns"]?.verdict, .ok)
        host.respond(to: ["getent", "ahosts", "hub.example.net"], with: WGCommandResult(stdout: "203.0.113.77   STREAM hub.example.net\n"))
        let moved = try XCTUnwrap(try findings(host, e)["endpoint-dns"])
        XCTAssertEqual(moved.verdict, .problem)
        XCTAssertTrue(moved.detail.contains("203.0.113.77") && moved.detail.contains("sends to 203.0.113.1"), moved.detail)
        host.respond(to: ["getent", "ahosts", "hub.example.net"], with: WGCommandResult(status: 2))
        let gone = try XCTUnwrap(try findings(host, e)["endpoint-dns"])
        XCTAssertEqual(gone.detail, "hub.example.net no longer resolves")
    }

    func testRouteModeWithoutReturnRouteSaysWhichRouteToAdd() throws {
        let host = healthy(masquerade: false)
        host.addExecutable("ping", in: "/usr/bin")
        host.respond(to: ["ping"], with: WGCommandResult(status: 1))
        let e = enrollment(vars: ["lan_access=route"])
        let f = try XCTUnwrap(try findings(host, e)["return-route"])
        XCTAssertEqual(f.verdict, .problem)
        XCTAssertEqual(f.fix?.contains("ip route add 192.0.2.0/24 via 198.51.100.2"), true, f.fix ?? "")
        XCTAssertEqual(f.fix?.contains("lan_access=masquerade"), true)
        XCTAssertTrue(host.commands.contains(["ping", "-c", "1", "-W", "2", "-I", "192.0.2.2", "198.51.100.1"]), "\(host.commands)")
        host.respond(to: ["ping"], with: WGCommandResult(status: 0))
        XCTAssertEqual(try findings(host, e)["return-route"]?.verdict, .ok)
        // masquerade needs no return route, and is not tested.
        XCTAssertEqual(try findings(healthy(), enrollment())["return-route"]?.verdict, .ok)
    }

    /// Enrolled in masquerade mode, then `apply --var lan_access=route` (not kept in the enrollment): wg0.conf
    /// is what runs, so the return route is checked (found by the lab's end-to-end run).
    func testModeComesFromTheConfigNotFromEnrollmentTimeValues() throws {
        let host = healthy(masquerade: false)
        host.addExecutable("ping", in: "/usr/bin")
        host.respond(to: ["ping"], with: WGCommandResult(status: 1))
        let f = try XCTUnwrap(try findings(host, enrollment())["return-route"])
        XCTAssertEqual(f.verdict, .problem, f.detail)
        // And the other way round: enrolled with lan_access=route, config now masquerading.
        XCTAssertEqual(try findings(healthy(), enrollment(vars: ["lan_access=route"]))["return-route"]?.verdict, .ok)
    }

    /// A machine set up by `apply` alone (no enrollment): the hostname comes from wg0.conf, because the live
    /// dump only shows the address it resolved; and no NAT with a LAN-sized peer means route mode.
    func testApplyOnlyMachineReadsNameAndModeFromTheConfig() throws {
        let host = healthy(masquerade: false, endpoint: "hub.example.net:51820")
        host.respond(to: ["getent", "ahosts", "hub.example.net"], with: WGCommandResult(stdout: "203.0.113.77   STREAM hub.example.net\n"))
        let dns = try XCTUnwrap(try findings(host, nil)["endpoint-dns"])
        XCTAssertEqual(dns.verdict, .problem, dns.detail)
        XCTAssertTrue(dns.detail.contains("203.0.113.77") && dns.detail.contains("sends to 203.0.113.1"), dns.detail)
        host.addExecutable("ping", in: "/usr/bin")
        host.respond(to: ["ping"], with: WGCommandResult(status: 1))
        XCTAssertEqual(try findings(host, nil)["return-route"]?.verdict, .problem)
        XCTAssertEqual(try findings(healthy(), nil)["return-route"]?.verdict, .ok, "masquerade in wg0.conf")
    }

    func testKeyModes() throws {
        let host = healthy()
        try host.setPermissions("/etc/wireguard/wg0.key", 0o644)
        let f = try XCTUnwrap(try findings(host, enrollment())["key-modes"])
        XCTAssertEqual(f.verdict, .problem)
        XCTAssertEqual(f.fix?.contains("chmod 600 /etc/wireguard/wg0.key"), true)
    }

    func testFindingsGoIntoTheHealthReport() throws {
        let host = healthy()
        host.addFile("/proc/sys/net/ipv4/ip_forward", "0\n")
        let (report, _) = WGHealthCollector(doctor: WGDoctor(host: host, facts: try WGFacts.gather(host), enrollment: enrollment())).collect(seq: 9)
        XCTAssertEqual(report.seq, 9)
        XCTAssertEqual(report.forwarding, false)
        XCTAssertEqual(report.firewall, "active, routed deny")
        XCTAssertEqual(report.service, "active")
        XCTAssertEqual(report.listenPort, 51820)
        XCTAssertEqual(report.peers.first?.publicKey, hubKey)
        XCTAssertEqual(report.peers.first?.transmitBytes, 200)
        let fwd = try XCTUnwrap(report.checks.first { $0.name == "forwarding" })
        XCTAssertFalse(fwd.ok)
        XCTAssertTrue(fwd.detail?.contains("fix: sysctl") == true)
    }

    func testReporterServiceOnlyOnceEnrolled() throws {
        let host = healthy()
        XCTAssertFalse(WGAgentApply.resources(host: host).contains { $0.name == "reporter" })
        try WGEnrollmentStore.save(enrollment(), host: host)
        XCTAssertTrue(WGAgentApply.resources(host: host).contains { $0.name == "reporter" })
        let facts = try WGFacts.gather(host)
        let applier = try WGAgentApply.applier(
            host: host, facts: facts, files: WGFileSource(), profile: siteGateway, values: WGEnroller.applyValues(enrollment(), profile: siteGateway),
            resources: [WGReporterServiceResource(agentPath: "/usr/local/bin/wgagent", interval: 60)])
        host.respond(to: ["systemctl", "is-enabled"], with: WGCommandResult(status: 1, stdout: "disabled\n"))
        host.respond(to: ["systemctl", "is-active"], with: WGCommandResult(status: 3))
        let plan = applier.run(dryRun: true)
        let argv = plan.resources[0].changes.compactMap(\.argv)
        XCTAssertEqual(argv, [["systemctl", "daemon-reload"], ["systemctl", "enable", "wgagent-reporter"], ["systemctl", "start", "wgagent-reporter"]])
        let unit = try XCTUnwrap(plan.resources[0].changes.first?.diff)
        XCTAssertTrue(unit.contains("+ExecStart=/usr/local/bin/wgagent report --interval 60"), unit)

        // Without a fixed interval the profile's report_interval (an enroll --var) decides.
        let every5 = try WGAgentApply.applier(
            host: host, facts: facts, files: WGFileSource(), profile: siteGateway,
            values: WGEnroller.applyValues(enrollment(), profile: siteGateway) + ["report_interval=5"],
            resources: [WGReporterServiceResource(agentPath: "/usr/local/bin/wgagent")])
        let unit5 = try XCTUnwrap(every5.run(dryRun: true).resources[0].changes.first?.diff)
        XCTAssertTrue(unit5.contains("+ExecStart=/usr/local/bin/wgagent report --interval 5"), unit5)
    }
}
