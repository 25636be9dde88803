import Foundation
import WGModel
import XCTest

@testable import WGProvision
import WGProvisionTesting

/// Interface names: the kernel's rules (dev_valid_name), and what may go into a PostUp line wg-quick runs in bash.
final class WGInterfaceNameTests: XCTestCase {
    func testTheKernelsRules() {
        for good in ["eth0", "ens18", "enp0s31f6", "wg0", "br-lan", "eth0.100", "vmbr0", "a", String(repeating: "x", count: 15), "x$y", "ümlaut"] {
            XCTAssertNil(WGInterfaceName.kernelProblem(good), good)
        }
        let bad: [(String, String)] = [
            ("", "empty"), (String(repeating: "x", count: 16), "16 bytes long"), (".", "not allowed"), ("..", "not allowed"),
            ("eth/0", "'/'"), ("eth:0", "':'"), ("eth 0", "a space"), ("eth\t0", "a tab"), ("eth\n0", "a line break"),
            ("a\u{A0}b", "no-break space"), ("a\u{0}b", "NUL"),
            // 8 characters but 16 bytes: the limit is in bytes.
            (String(repeating: "ü", count: 8), "16 bytes long"),
        ]
        for (name, words) in bad {
            let p = WGInterfaceName.kernelProblem(name)
            XCTAssertNotNil(p, name.debugDescription)
            XCTAssertTrue(p?.contains(words) == true, "\(name.debugDescription): \(p ?? "nil")")
        }
        XCTAssertNil(WGInterfaceName.kernelProblem("..."), "only . and .. are reserved")
    }

    func testShellLinesTakeOnlyPlainNames() {
        for good in ["eth0", "ens18", "br-lan", "eth0.100", "veth1@if2", "wg_hub=1+2"] { XCTAssertTrue(WGInterfaceName.isValid(good), good) }
        // Valid for the kernel, but bash would run part of them.
        for bad in ["x$(reboot)", "a;b", "a|b", "a`b`", "a&b", "a>b", "a'b", "a\"b", "a\\b", "ümlaut", "a*"] {
            XCTAssertNil(WGInterfaceName.kernelProblem(bad), bad)
            let p = WGInterfaceName.problem(bad)
            XCTAssertTrue(p?.contains("shell lines") == true, "\(bad): \(p ?? "nil")")
        }
        XCTAssertTrue(WGInterfaceName.problem("eth 0")?.contains("space") == true, "kernel problems come first")
    }

    func testProfilesRefuseDotNames() throws {
        for name in [".", "..", "wg/0", String(repeating: "w", count: 16)] {
            XCTAssertThrowsError(try WGProfile.parse("role: hub\ninterface: \"\(name)\"\nvariables:\n  address: {type: cidr}\n  listen_port: {type: port}\n",
                                                     name: "t", source: "t.yaml")) {
                XCTAssertTrue("\($0)".contains("interface"), "\($0)")
            }
        }
        XCTAssertNoThrow(try WGProfile.parse("role: hub\ninterface: wg-hub.1\nvariables:\n  address: {type: cidr}\n  listen_port: {type: port}\n",
                                             name: "t", source: "t.yaml"))
    }

    /// A Debian machine whose default route leaves through `egress`.
    func machine(egress: String) -> WGFakeHost {
        let host = WGFakeHost()
        host.addFile("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n")
        host.addFile("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        host.addDirectory("/var/lib")
        host.addDirectory("/run/systemd/system")
        host.respond(to: ["ip", "-4", "route", "show", "default"], with: WGCommandResult(stdout: "default via 198.51.100.1 dev \(egress) proto static\n"))
        return host
    }

    func context(_ host: WGFakeHost, lanAccess: String = "masquerade") throws -> WGContext {
        let files = WGFileSource()
        let p = try files.loadProfile("site-gateway")
        let vars = try WGVariables.resolve(profile: p, varsFiles: [], vars: [
            "address=192.0.2.2/24", "hub_endpoint=203.0.113.1:51820", "hub_public_key=\(WGKey.generatePrivate().publicKey.base64)",
            "lan_access=\(lanAccess)"])
        return WGContext(host: host, facts: try WGFacts.gather(host), spec: try WGSpec.build(profile: p, variables: vars), files: files)
    }

    func testABadEgressNameIsNeverRenderedIntoPostUp() throws {
        let evil = "x$(reboot)"
        let host = machine(egress: evil)
        let ctx = try context(host)
        XCTAssertEqual(ctx.facts.egressInterface, evil, "the fact is kept as read; it is checked where it is used")
        let report = WGApplier(context: ctx, resources: [WGKeysResource(), WGInterfaceConfigResource(), WGFirewallResource()]).run(dryRun: false)
        let config = report.resources.first { $0.name == "interface-config" }
        XCTAssertEqual(config?.status, .failed)
        let error = config?.error ?? ""
        XCTAssertTrue(error.contains("the egress interface \"\(evil)\""), error)
        XCTAssertTrue(error.contains("'$'"), error)
        XCTAssertTrue(error.contains("ip link set"), error)
        XCTAssertNil(host.text("/etc/wireguard/wg0.conf"), "nothing rendered")
        // Only the read-only `ip route show dev NAME` (argv, no shell) ever saw the name.
        XCTAssertFalse(host.commands.contains { $0.first != "ip" && $0.contains { $0.contains(evil) } }, "\(host.commands)")

        // The firewall's rules name it too (as ufw argv): refused the same way, in route mode as well.
        let routeCtx = try context(machine(egress: evil), lanAccess: "route")
        XCTAssertThrowsError(try WGFirewallResource.wantedRules(routeCtx)) { XCTAssertTrue("\($0)".contains("egress interface"), "\($0)") }
    }

    func testAGoodEgressNameIsRendered() throws {
        let host = machine(egress: "eth0.100")
        let report = WGApplier(context: try context(host), resources: [WGKeysResource(), WGInterfaceConfigResource()]).run(dryRun: false)
        XCTAssertTrue(report.converged, "\(report.resources.compactMap(\.error))")
        let conf = try XCTUnwrap(host.text("/etc/wireguard/wg0.conf"))
        XCTAssertTrue(conf.contains("-o eth0.100 -j MASQUERADE"), conf)
    }
}
