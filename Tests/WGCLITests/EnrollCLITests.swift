import Foundation
import WGAgent
import WGAgentCLI
import WGHub
import WGModel
import WGProvision
import XCTest

/// `wgagent enroll` through its root command, against a real hub over TLS on 127.0.0.1, on a fake Debian VM:
/// every exit status the command documents.
final class EnrollCLITests: XCTestCase {
    /// What a fake VM can converge: the key and wg0.conf (packages, users, firewall need a real machine).
    let tunnelOnly: [WGResource] = [WGKeysResource(), WGInterfaceConfigResource()]

    func testExit0EnrolledConvergedAndHandshakeSeen() async throws {
        let hub = try await CLIHub()
        let site = FakeSite()
        site.peer(hub: hub.hubKey.base64, handshakeAt: 1_700_000_001)
        try await hub.serve { url in
            let token = try await hub.token(url: url)
            let r = await wgagentBlocking(["enroll", "--hub", url, "--token", token, "--pin", hub.pin, "--wait", "10"],
                                          on: site.host, resources: tunnelOnly,
                                          portCheck: { _, _, port, _ in portCheckResult("forwarded", port: port) })
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.hasPrefix("wgagent enroll: \(url) · profile site-gateway · Debian GNU/Linux 12 (bookworm) · systemd"), r.stdout)
            XCTAssertTrue(r.stdout.contains("  enrolled  site 1 \"site-a\": address 192.0.2.2/24, hub 203.0.113.1:51820 (key \(hub.hubKey.base64))"), r.stdout)
            XCTAssertTrue(r.stdout.contains("  saved     /var/lib/wgagent/enrollment.json (0600): hub URL, pin, credential"), r.stdout)
            XCTAssertTrue(r.stdout.contains("  tunnel    up: handshake with the hub after 0.0 s (203.0.113.1:51820)"), r.stdout)
            XCTAssertTrue(r.stdout.contains("  port      UDP 51820: forwarded (probe sent to 198.51.100.2:51820)"), r.stdout)
            XCTAssertTrue(r.stdout.hasSuffix("done: site-a is site 1 of \(url), tunnel address 192.0.2.2/24\n"), r.stdout)
            XCTAssertNotNil(try WGEnrollmentStore.load(site.host))
            XCTAssertTrue(site.host.text("/etc/wireguard/wg0.conf")?.contains("PublicKey = \(hub.hubKey.base64)") == true)

            // Again: the token is not spent a second time, the key is kept, and it still ends with 0.
            let again = await wgagentBlocking(["enroll", "--hub", url, "--token", token, "--pin", hub.pin, "--wait", "0"],
                                              on: site.host, resources: tunnelOnly)
            XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
            XCTAssertTrue(again.stdout.contains("  enrolled  already, as site 1"), again.stdout)
            XCTAssertTrue(again.stdout.contains("  port      not checked: no probes in tests. Try later: `wgagent check-port`"), again.stdout)
            XCTAssertTrue(again.stdout.hasSuffix("done: enrolled and converged (not waiting for a handshake: --wait 0)\n"), again.stdout)
        }
    }

    func testExit1WhenTheApplyDoesNotConverge() async throws {
        let hub = try await CLIHub()
        let site = FakeSite()
        // The package mirror answers nothing: apt-get fails, also after the index refresh.
        site.host.respond(to: ["apt-get", "install"], with: WGCommandResult(status: 100, stderr: "E: Unable to locate package wireguard-tools"))
        site.host.respond(to: ["apt-get", "update"], with: WGCommandResult(status: 100, stderr: "E: The repository is not reachable"))
        try await hub.serve { url in
            let token = try await hub.token(url: url)
            let r = await wgagentBlocking(["enroll", "--hub", url, "--token", token, "--pin", hub.pin],
                                          on: site.host, resources: [WGPackagesResource()] + tunnelOnly)
            XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.contains("  failed   packages"), r.stdout)
            XCTAssertTrue(r.stdout.contains("E: Unable to locate package wireguard-tools"), r.stdout)
            XCTAssertTrue(r.stdout.contains("not converged. done: ; remaining: packages, keys, interface-config."), r.stdout)
            XCTAssertFalse(r.stdout.contains("waiting"), "no handshake wait after a failed apply")
            XCTAssertNotNil(try WGEnrollmentStore.load(site.host), "enrolled: a second run continues with the apply")
        }
    }

    /// First-boot user-data hands enroll its token in the environment: not on a command line `ps` shows.
    func testTheTokenFromTheEnvironment() async throws {
        let hub = try await CLIHub()
        let site = FakeSite()
        try await hub.serve { url in
            let token = try await hub.token(url: url)
            let missing = await wgagentBlocking(["enroll", "--hub", url, "--pin", hub.pin], on: site.host, resources: tunnelOnly)
            XCTAssertEqual(missing.status, 64, missing.stderr)
            XCTAssertTrue(missing.stderr.contains("WGAGENT_TOKEN"), missing.stderr)
            setenv("WGAGENT_TOKEN", token, 1)
            defer { unsetenv("WGAGENT_TOKEN") }
            let r = await wgagentBlocking(["enroll", "--hub", url, "--pin", hub.pin, "--wait", "0"], on: site.host, resources: tunnelOnly)
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            XCTAssertNotNil(try WGEnrollmentStore.load(site.host))
        }
    }

    func testExit2WhenRefusedPinTokenOrProfile() async throws {
        let hub = try await CLIHub()
        try await hub.serve { url in
            let token = try await hub.token(url: url)
            let wrongPin = "sha256//" + Data(repeating: 9, count: 32).base64EncodedString()
            let pin = FakeSite()
            let r1 = await wgagentBlocking(["enroll", "--hub", url, "--token", token, "--pin", wrongPin], on: pin.host, resources: tunnelOnly)
            XCTAssertEqual(r1.status, 2, r1.stdout + r1.stderr)
            XCTAssertTrue(r1.stderr.contains("wgagent: error: "), r1.stderr)
            XCTAssertTrue(r1.stderr.contains("check the pin printed by `wghub serve`"), r1.stderr)
            XCTAssertNil(pin.host.text(WGEnrollmentStore.path))

            let unknown = FakeSite()
            let r2 = await wgagentBlocking(["enroll", "--hub", url, "--token", "wgt_" + String(repeating: "A", count: 43), "--pin", hub.pin],
                                           on: unknown.host, resources: tunnelOnly)
            XCTAssertEqual(r2.status, 2, r2.stdout + r2.stderr)
            XCTAssertTrue(r2.stderr.contains("refused the token (401 token_unknown)"), r2.stderr)
            XCTAssertNil(unknown.host.text(WGEnrollmentStore.path))

            let hubProfile = FakeSite()
            let r3 = await wgagentBlocking(["enroll", "--hub", url, "--token", token, "--pin", hub.pin, "--profile", "hub"], on: hubProfile.host)
            XCTAssertEqual(r3.status, 2, r3.stdout + r3.stderr)
            XCTAssertEqual(r3.stderr, "wgagent: error: profile hub is the hub's own: a hub is not enrolled; use `wgagent apply --profile hub`\n")
            XCTAssertEqual(r3.stdout, "", "refused before the first line")
            XCTAssertTrue(hubProfile.host.commands.isEmpty, "nothing run on the machine")
        }
        let tokens = try WGHubStore.open(dataDirectory: hub.dir).tokens()
        XCTAssertEqual(tokens.first?.uses, 0, "no refusal spent the token")
    }

    func testExit3WhenNoHandshakeWithinWait() async throws {
        let hub = try await CLIHub()
        let site = FakeSite()
        site.peer(hub: hub.hubKey.base64, handshakeAt: 0)
        try await hub.serve { url in
            let token = try await hub.token(url: url)
            let r = await wgagentBlocking(["enroll", "--hub", url, "--token", token, "--pin", hub.pin, "--wait", "5"],
                                          on: site.host, resources: tunnelOnly)
            XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.contains("  waiting   up to 5 s for the first handshake with the hub …"), r.stdout)
            XCTAssertTrue(r.stdout.contains("  tunnel    no handshake with the hub within 5 s\n"), r.stdout)
            XCTAssertTrue(r.stdout.hasSuffix("enrolled and converged, but the tunnel is not up: check that UDP reaches 203.0.113.1:51820 from here, and run `wgagent doctor`\n"), r.stdout)
            XCTAssertGreaterThanOrEqual(site.host.commands.filter { $0 == ["wg", "show", "wg0", "dump"] }.count, 10, "polled every 0.5 s")
        }
    }

    func testExit4WhenTheHubCannotBeReached() async throws {
        // A port nothing listens on: connection refused.
        let site = FakeSite()
        let pin = "sha256//" + Data(repeating: 1, count: 32).base64EncodedString()
        let r = await wgagentBlocking(["enroll", "--hub", "https://127.0.0.1:1", "--token", "wgt_" + String(repeating: "B", count: 43), "--pin", pin],
                                      on: site.host, resources: tunnelOnly)
        XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("wgagent: error: cannot connect to https://127.0.0.1:1/v1/enroll"), r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("wgagent enroll: https://127.0.0.1:1 · profile site-gateway"), r.stdout)
        XCTAssertFalse(r.stdout.contains("  apply "), "no apply without the hub's values")
        XCTAssertNil(site.host.text(WGEnrollmentStore.path))
    }
}
