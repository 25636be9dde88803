import XCTest
import WGModel
@testable import WGProvision
import WGProvisionTesting

/// Exact argv of a fresh plan, per platform: the commands a real VM would run, in order.
final class WGPlanArgvTests: XCTestCase {
    func testDebianSystemdSiteGatewayPlan() throws {
        let host = WGFakeMachine.debian()
        let report = WGFakeMachines.plan(try WGFakeMachines.context(host))
        XCTAssertEqual(report.failed, 0, "\(report.resources.compactMap(\.error))")
        XCTAssertEqual(report.allArgv, [
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300",
             "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "wireguard-tools", "iproute2", "iptables", "procps", "wireguard-go", "ufw", "sudo"],
            ["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", "--groups", "sudo", "wgadmin"],
            ["passwd", "-l", "wgadmin"],
            ["sysctl", "-w", "net.ipv4.ip_forward=1"],
            ["ufw", "allow", "22/tcp"],
            ["ufw", "allow", "51820/udp"],
            ["ufw", "route", "allow", "in", "on", "wg0", "out", "on", "ens18"],
            ["ufw", "default", "deny", "incoming"],
            ["ufw", "default", "allow", "outgoing"],
            ["ufw", "default", "deny", "routed"],
            ["ufw", "--force", "enable"],
            ["systemctl", "enable", "wg-quick@wg0"],
            ["systemctl", "start", "wg-quick@wg0"],
        ])
        XCTAssertEqual(report.resource("guest-agent")?.status, .ok)
        // Planning never changes the machine: only read-only commands ran.
        XCTAssertFalse(host.commands.contains { ["apt-get", "useradd", "ufw", "sysctl"].contains($0[0]) }, "\(host.commands)")
        XCTAssertNil(host.files["/etc/wireguard"])
    }

    func testAlpineOpenRCSiteGatewayPlan() throws {
        let host = WGFakeMachine.alpine()
        let report = WGFakeMachines.plan(try WGFakeMachines.context(host))
        XCTAssertEqual(report.failed, 0, "\(report.resources.compactMap(\.error))")
        XCTAssertEqual(report.allArgv, [
            ["apk", "update", "--no-progress"],
            ["apk", "add", "--no-progress", "wireguard-tools", "iproute2", "iptables", "procps", "wireguard-go", "ufw", "sudo"],
            ["addgroup", "wgadmin"],
            ["adduser", "-D", "-s", "/bin/ash", "-G", "wgadmin", "wgadmin"],
            ["adduser", "wgadmin", "wheel"],
            ["passwd", "-l", "wgadmin"],
            ["sysctl", "-w", "net.ipv4.ip_forward=1"],
            ["ufw", "allow", "22/tcp"],
            ["ufw", "allow", "51820/udp"],
            ["ufw", "route", "allow", "in", "on", "wg0", "out", "on", "ens18"],
            ["ufw", "default", "deny", "incoming"],
            ["ufw", "default", "allow", "outgoing"],
            ["ufw", "default", "deny", "routed"],
            ["ufw", "--force", "enable"],
            ["rc-update", "add", "ufw", "default"],
            ["rc-update", "add", "wg-quick.wg0", "default"],
            ["rc-service", "wg-quick.wg0", "start"],
        ])
        let packages = try XCTUnwrap(report.resource("packages"))
        let repoChange = try XCTUnwrap(packages.changes.first { $0.path == "/etc/apk/repositories" })
        XCTAssertTrue(repoChange.diff?.contains("+https://dl-cdn.alpinelinux.org/alpine/v3.20/community") == true, repoChange.diff ?? "")
        let service = try XCTUnwrap(report.resource("service"))
        XCTAssertTrue(service.changes.contains { $0.path == "/etc/init.d/wg-quick" }, "OpenRC script shipped where the distro has none")
        XCTAssertTrue(service.changes.contains { $0.action == .symlink(path: "/etc/init.d/wg-quick.wg0", target: "wg-quick") })
    }

    func testSSHIsAllowedBeforeTheFirewallIsEnabled() throws {
        for host in [WGFakeMachine.debian(), WGFakeMachine.alpine()] {
            host.addFile("/etc/ssh/sshd_config", "# moved\nPort 2222\n")
            let argv = WGFakeMachines.plan(try WGFakeMachines.context(host)).allArgv
            let ssh = try XCTUnwrap(argv.firstIndex(of: ["ufw", "allow", "2222/tcp"]), "the sshd port from sshd_config is allowed")
            let enable = try XCTUnwrap(argv.firstIndex(of: ["ufw", "--force", "enable"]))
            let denyIn = try XCTUnwrap(argv.firstIndex(of: ["ufw", "default", "deny", "incoming"]))
            XCTAssertLessThan(ssh, denyIn)
            XCTAssertLessThan(ssh, enable)
            XCTAssertFalse(argv.contains(["ufw", "allow", "22/tcp"]))
        }
    }

    func testDebianBusterUsesBackports() throws {
        let host = WGFakeMachine.debian(version: "10", codename: "buster")
        let report = WGFakeMachines.plan(try WGFakeMachines.context(host))
        let packages = try XCTUnwrap(report.resource("packages"))
        XCTAssertEqual(packages.changes.first?.path, "/etc/apt/sources.list.d/buster-backports.list")
        XCTAssertEqual(packages.changes[1].argv, ["apt-get", "update", "-q"])
        let install = try XCTUnwrap(packages.changes.last?.argv)
        XCTAssertEqual(Array(install[11...12]), ["-t", "buster-backports"])
    }

    func testKernelWireGuardSkipsWireguardGo() throws {
        let host = WGFakeMachine.debian()
        host.addDirectory("/sys/module/wireguard")
        let install = try XCTUnwrap(WGFakeMachines.plan(try WGFakeMachines.context(host)).allArgv.first)
        XCTAssertFalse(install.contains("wireguard-go"))
        XCTAssertTrue(install.contains("wireguard-tools"))
    }

    func testQEMUGetsTheGuestAgent() throws {
        let host = WGFakeMachine.alpine()
        host.addFile("/sys/class/dmi/id/sys_vendor", "QEMU\n")
        let report = WGFakeMachines.plan(try WGFakeMachines.context(host))
        let guest = try XCTUnwrap(report.resource("guest-agent"))
        XCTAssertEqual(guest.status, .pending)
        XCTAssertEqual(guest.changes.compactMap(\.argv), [
            ["apk", "add", "--no-progress", "qemu-guest-agent"],
            ["rc-update", "add", "qemu-guest-agent", "default"],
        ])
        let debian = WGFakeMachine.debian()
        debian.addFile("/sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n")
        debian.addFile("/sys/class/dmi/id/sys_vendor", "QEMU\n")
        let d = WGFakeMachines.plan(try WGFakeMachines.context(debian)).resource("guest-agent")
        XCTAssertEqual(d?.changes.compactMap(\.argv).first?.last, "qemu-guest-agent")
    }

    func testRouteModeAllowsLANIntoTheTunnelAndHasNoNAT() throws {
        let host = WGFakeMachine.debian()
        let ctx = try WGFakeMachines.context(host, vars: ["lan_access=route"])
        let report = WGFakeMachines.plan(ctx)
        XCTAssertTrue(report.allArgv.contains(["ufw", "route", "allow", "in", "on", "ens18", "out", "on", "wg0"]))
        let conf = try XCTUnwrap(report.resource("interface-config")?.changes.first?.diff)
        XCTAssertFalse(conf.contains("MASQUERADE"), conf)
    }

    func testRoadwarriorIsAFullTunnelWithoutForwarding() throws {
        let host = WGFakeMachine.debian()
        let ctx = try WGFakeMachines.context(host, profile: "roadwarrior")
        let report = WGFakeMachines.plan(ctx)
        XCTAssertEqual(report.resource("sysctl")?.status, .ok)
        XCTAssertEqual(report.resource("admin-user")?.status, .ok)
        let conf = try XCTUnwrap(report.resource("interface-config")?.changes.first?.diff)
        XCTAssertTrue(conf.contains("+AllowedIPs = 0.0.0.0/0, ::/0"), conf)
        XCTAssertFalse(report.allArgv.contains { $0.starts(with: ["ufw", "allow"]) && $0.last?.hasSuffix("/udp") == true })
    }

    func testHubTakesPeersFromAVarsFileAndNATsOutOfTheEgress() throws {
        let host = WGFakeMachine.debian()
        let peerKey = WGKey.generatePrivate().publicKey.base64
        let vars = """
            address: 192.0.2.1/24
            peers:
              - name: site-a
                public_key: \(peerKey)
                allowed_ips: [192.0.2.2/32, 198.51.100.0/24]
            """
        let ctx = try WGFakeMachines.context(host, profile: "hub", varsFiles: [("hub.yaml", vars)])
        let report = WGFakeMachines.plan(ctx)
        let conf = try XCTUnwrap(report.resource("interface-config")?.changes.first?.diff)
        XCTAssertTrue(conf.contains("+PublicKey = \(peerKey)"), conf)
        XCTAssertTrue(conf.contains("+AllowedIPs = 192.0.2.2/32, 198.51.100.0/24"), conf)
        XCTAssertTrue(conf.contains("-o ens18 -j MASQUERADE"), conf)
        XCTAssertTrue(report.allArgv.contains(["ufw", "route", "allow", "in", "on", "wg0", "out", "on", "wg0"]))
    }

    func testHubOpensWghubsAPIPortAfterSSH() throws {
        func ufwAllows(_ report: WGRunReport) -> [[String]] { report.allArgv.filter { $0.starts(with: ["ufw", "allow"]) } }
        let host = WGFakeMachine.debian()
        let byDefault = WGFakeMachines.plan(try WGFakeMachines.context(host, profile: "hub", vars: ["address=192.0.2.1/24"]))
        XCTAssertEqual(ufwAllows(byDefault), [["ufw", "allow", "22/tcp"], ["ufw", "allow", "8443/tcp"], ["ufw", "allow", "51820/udp"]])
        let moved = WGFakeMachines.plan(try WGFakeMachines.context(host, profile: "hub", vars: ["address=192.0.2.1/24", "api_port=9443"]))
        XCTAssertEqual(ufwAllows(moved), [["ufw", "allow", "22/tcp"], ["ufw", "allow", "9443/tcp"], ["ufw", "allow", "51820/udp"]])
        // A site gateway has no API port to open.
        let site = WGFakeMachines.plan(try WGFakeMachines.context(host))
        XCTAssertFalse(site.allArgv.contains { $0.starts(with: ["ufw", "allow"]) && $0.last?.hasSuffix("/tcp") == true && $0.last != "22/tcp" })
    }

    func testReportIntervalAndInboundExpectations() throws {
        let host = WGFakeMachine.debian()
        XCTAssertEqual(try WGFakeMachines.context(host).spec.reportInterval, 60)
        XCTAssertEqual(try WGFakeMachines.context(host, vars: ["report_interval=2"]).spec.reportInterval, 2)
        XCTAssertThrowsError(try WGFakeMachines.context(host, vars: ["report_interval=0"])) { error in
            XCTAssertTrue("\(error)".contains("report_interval"), "\(error)")
            XCTAssertTrue("\(error)".contains("at least 1 second"), "\(error)")
        }
        // A site gateway listens (inbound expected: its port forward is checked); a road warrior does not.
        XCTAssertTrue(try WGFakeMachines.context(host).spec.expectsInbound)
        XCTAssertFalse(try WGFakeMachines.context(host, profile: "roadwarrior").spec.expectsInbound)
    }

    func testARunningTunnelIsStoppedBeforeItsConfigChanges() throws {
        // wg-quick down runs the PostDown of the file as it is then: stopping after the write would leave the
        // old MASQUERADE rule behind when masquerade turns into route. So: stop with the old file, write, start.
        let host = WGFakeMachine.debian()
        host.addDirectory("/etc/wireguard", permissions: 0o700)
        host.addFile("/etc/wireguard/wg0.key", WGKey.generatePrivate().base64 + "\n", permissions: 0o600)
        host.addFile("/etc/wireguard/wg0.conf", "[Interface]\nPostUp = iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -o ens18 -j MASQUERADE\n", permissions: 0o600)
        host.respond(to: ["systemctl", "is-active"], with: WGCommandResult(status: 0))
        let report = WGFakeMachines.plan(try WGFakeMachines.context(host, vars: ["lan_access=route"]))
        let config = try XCTUnwrap(report.resource("interface-config"))
        XCTAssertEqual(config.changes.first?.argv, ["systemctl", "stop", "wg-quick@wg0"], "\(config.changes.map(\.summary))")
        XCTAssertEqual(config.changes.dropFirst().first?.path, "/etc/wireguard/wg0.conf")
        // Not running: nothing to stop.
        host.respond(to: ["systemctl", "is-active"], with: WGCommandResult(status: 3))
        let idle = WGFakeMachines.plan(try WGFakeMachines.context(host, vars: ["lan_access=route"]))
        XCTAssertFalse(idle.allArgv.contains(["systemctl", "stop", "wg-quick@wg0"]))
    }
}
