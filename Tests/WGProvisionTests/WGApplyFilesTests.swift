import XCTest
import WGModel
@testable import WGProvision
import WGProvisionTesting

/// Apply on a fake machine for the file resources: keys, wg0.conf, sysctl, and what a re-run does.
final class WGApplyFilesTests: XCTestCase {
    let fileResources: [WGResource] = [WGSysctlResource(), WGKeysResource(), WGInterfaceConfigResource()]

    func makeHost() -> WGFakeHost {
        let host = WGFakeMachine.debian()
        // sysctl -w really changes the running value, as on a machine.
        host.respond(to: ["sysctl", "-w"]) { [unowned host] argv in
            if argv[2] == "net.ipv4.ip_forward=1" { host.addFile("/proc/sys/net/ipv4/ip_forward", "1\n") }
            return WGCommandResult()
        }
        return host
    }

    func apply(_ host: WGFakeHost, dryRun: Bool = false, vars: [String] = []) throws -> WGRunReport {
        WGApplier(context: try WGFakeMachines.context(host, vars: vars), resources: fileResources).run(dryRun: dryRun)
    }

    func testFirstApplyWritesSecretsWithTightModesAndSecondChangesNothing() throws {
        let host = makeHost()
        let first = try apply(host)
        XCTAssertEqual(first.failed, 0, "\(first.resources.compactMap(\.error))")
        XCTAssertEqual(first.changed, 3)
        XCTAssertEqual(host.files["/etc/wireguard"]?.info.permissions, 0o700)
        XCTAssertEqual(host.files["/etc/wireguard/wg0.key"]?.info.permissions, 0o600)
        XCTAssertEqual(host.files["/etc/wireguard/wg0.conf"]?.info.permissions, 0o600)
        let key = try WGKey(base64: try XCTUnwrap(host.text("/etc/wireguard/wg0.key")).trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(host.text("/etc/wireguard/wg0.pub"), key.publicKey.base64 + "\n")
        let conf = try WGQuickConfig.parse(try XCTUnwrap(host.text("/etc/wireguard/wg0.conf")))
        XCTAssertEqual(conf.interface.privateKey, key)
        XCTAssertEqual(conf.interface.saveConfig, false)
        XCTAssertEqual(conf.peers.first?.persistentKeepalive, 25)
        XCTAssertEqual(host.text("/etc/sysctl.d/99-wgagent.conf")?.contains("net.ipv4.ip_forward = 1"), true)
        XCTAssertEqual(host.text("/proc/sys/net/ipv4/ip_forward"), "1\n")
        // The private key never appears in what apply reports.
        let json = String(decoding: try JSONEncoder().encode(first), as: UTF8.self)
        XCTAssertFalse(json.contains(key.base64), "private key leaked into the report")

        let second = try apply(host)
        XCTAssertEqual(second.changed, 0)
        XCTAssertEqual(second.ok, 3)
        XCTAssertEqual(host.text("/etc/wireguard/wg0.key"), key.base64 + "\n", "the key is never regenerated")
    }

    func testForwardingSetBackToZeroIsExactlyOneChange() throws {
        let host = makeHost()
        _ = try apply(host)
        host.addFile("/proc/sys/net/ipv4/ip_forward", "0\n")
        let plan = try apply(host, dryRun: true)
        XCTAssertEqual(plan.changed, 1)
        let sysctl = try XCTUnwrap(plan.resource("sysctl"))
        XCTAssertEqual(sysctl.changes.count, 1)
        XCTAssertEqual(sysctl.changes.first?.argv, ["sysctl", "-w", "net.ipv4.ip_forward=1"])
    }

    func testExistingKeyIsKeptEvenWhenModeIsWrongAndPublicKeyMissing() throws {
        let host = makeHost()
        let key = WGKey.generatePrivate()
        host.addDirectory("/etc/wireguard", permissions: 0o755)
        host.addFile("/etc/wireguard/wg0.key", key.base64 + "\n", permissions: 0o644)
        let report = try apply(host)
        XCTAssertEqual(report.failed, 0, "\(report.resources.compactMap(\.error))")
        XCTAssertEqual(host.text("/etc/wireguard/wg0.key"), key.base64 + "\n")
        XCTAssertEqual(host.files["/etc/wireguard/wg0.key"]?.info.permissions, 0o600)
        XCTAssertEqual(host.files["/etc/wireguard"]?.info.permissions, 0o700)
        XCTAssertEqual(host.text("/etc/wireguard/wg0.pub"), key.publicKey.base64 + "\n")
    }

    func testGarbageKeyFileIsNeverOverwritten() throws {
        let host = makeHost()
        host.addDirectory("/etc/wireguard", permissions: 0o700)
        host.addFile("/etc/wireguard/wg0.key", "not a key\n", permissions: 0o600)
        let report = try apply(host)
        XCTAssertEqual(report.resource("keys")?.status, .failed)
        XCTAssertTrue(report.resource("keys")?.error?.contains("never overwritten") == true, report.resource("keys")?.error ?? "")
        XCTAssertEqual(host.text("/etc/wireguard/wg0.key"), "not a key\n")
        XCTAssertEqual(report.resource("interface-config")?.status, .skipped)
        XCTAssertFalse(report.converged)
    }

    func testHandMadeConfigKeyIsAdoptedAndTheOldFileBackedUp() throws {
        let host = makeHost()
        let key = WGKey.generatePrivate()
        host.addDirectory("/etc/wireguard", permissions: 0o700)
        let handMade = "[Interface]\nPrivateKey = \(key.base64)\nAddress = 192.0.2.9/24\nListenPort = 51820\n"
        host.addFile("/etc/wireguard/wg0.conf", handMade, permissions: 0o600)
        let report = try apply(host)
        XCTAssertEqual(report.failed, 0, "\(report.resources.compactMap(\.error))")
        XCTAssertEqual(host.text("/etc/wireguard/wg0.key"), key.base64 + "\n", "the identity in wg0.conf is adopted")
        let conf = try WGQuickConfig.parse(try XCTUnwrap(host.text("/etc/wireguard/wg0.conf")))
        XCTAssertEqual(conf.interface.privateKey, key)
        let backups = host.listDirectory("/var/lib/wgagent/backups")
        XCTAssertEqual(backups.count, 1, "\(backups)")
        XCTAssertEqual(host.text("/var/lib/wgagent/backups/" + backups[0]), handMade)
        XCTAssertEqual(host.files["/var/lib/wgagent/backups/" + backups[0]]?.info.permissions, 0o600)
        XCTAssertEqual(host.files["/var/lib/wgagent"]?.info.permissions, 0o700)
        // Our own file is not backed up again when the profile changes.
        _ = try apply(host, vars: ["keepalive=30"])
        XCTAssertEqual(host.listDirectory("/var/lib/wgagent/backups").count, 1)
    }

    func testPlanRedactsThePrivateKeyInDiffs() throws {
        let host = makeHost()
        _ = try apply(host)
        let key = try XCTUnwrap(host.text("/etc/wireguard/wg0.key")).trimmingCharacters(in: .whitespacesAndNewlines)
        let plan = try apply(host, dryRun: true, vars: ["keepalive=40"])
        let diff = try XCTUnwrap(plan.resource("interface-config")?.changes.first?.diff)
        XCTAssertTrue(diff.contains("-PersistentKeepalive = 25") && diff.contains("+PersistentKeepalive = 40"), diff)
        XCTAssertFalse(diff.contains(key))
        XCTAssertEqual(plan.changed, 1)
    }

    func testChangedEgressReplacesNATAndStaleRouteRule() throws {
        let host = makeHost()
        _ = try apply(host)
        host.respond(to: ["ip", "-4", "route", "show", "default"], with: WGCommandResult(stdout: "default via 198.51.100.1 dev eth1\n"))
        host.addExecutable("ufw", in: "/usr/sbin")
        host.respond(to: ["ufw", "show", "added"], with: WGCommandResult(stdout: """
            Added user rules (see 'ufw status' for running firewall):
            ufw allow 22/tcp
            ufw allow 51820/udp
            ufw route allow in on wg0 out on ens18
            """))
        host.addFile("/etc/default/ufw", "DEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nDEFAULT_FORWARD_POLICY=\"DROP\"\n")
        host.respond(to: ["ufw", "status"], with: WGCommandResult(stdout: "Status: active\n"))
        let ctx = try WGFakeMachines.context(host)
        let report = WGApplier(context: ctx, resources: [WGInterfaceConfigResource(), WGFirewallResource()]).run(dryRun: true)
        XCTAssertEqual(report.resource("firewall")?.changes.compactMap(\.argv), [
            ["ufw", "route", "allow", "in", "on", "wg0", "out", "on", "eth1"],
            ["ufw", "route", "delete", "allow", "in", "on", "wg0", "out", "on", "ens18"],
        ])
        let diff = try XCTUnwrap(report.resource("interface-config")?.changes.first?.diff)
        XCTAssertTrue(diff.contains("+PostUp = iptables -t nat -C POSTROUTING -s 192.0.2.0/24 -o eth1"), diff)
    }
}
