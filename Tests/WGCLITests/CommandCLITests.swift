import Foundation
import WGAgent
import WGAgentCLI
import WGHub
import WGHubCLI
import WGModel
import WGProvision
import XCTest

/// Other commands of both CLIs through their root commands.
final class CommandCLITests: XCTestCase {
    let hubValues = ["--var", "address=192.0.2.2/24", "--var", "hub_endpoint=203.0.113.1:51820",
                     "--var", "hub_public_key=fNUy3EpaYPKa6R5Cs7aF1xdcrTC44IKCfuOVt+QcPnM="]

    func testApplyDryRunPrintsThePlanAndChangesNothing() throws {
        let site = FakeSite()
        let before = site.host.files
        let r = wgagent(["apply", "--dry-run", "--profile", "site-gateway"] + hubValues, on: site.host)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("wgagent plan: profile site-gateway on Debian GNU/Linux 12 (bookworm) · systemd · egress ens18"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  change   packages"), r.stdout)
        XCTAssertTrue(r.stdout.contains("             $ apt-get install"), "commands shown as argv: \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("Address = 192.0.2.2/24"), "files shown as diffs: \(r.stdout)")
        XCTAssertNotNil(r.stdout.range(of: #"\nto change \d+, ok \d+, failed 0\n$"#, options: .regularExpression), r.stdout)
        XCTAssertEqual(site.host.files, before, "a dry run writes nothing")
        XCTAssertFalse(site.host.commands.contains { $0.first == "apt-get" || $0.first == "systemctl" && $0.count > 1 && $0[1] == "enable" },
                       "\(site.host.commands)")

        // `plan` is the same as `apply --dry-run`.
        let plan = wgagent(["plan", "--profile", "site-gateway"] + hubValues, on: FakeSite().host)
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertEqual(plan.stdout.split(separator: "\n").first, r.stdout.split(separator: "\n").first)
        XCTAssertEqual(plan.stdout.split(separator: "\n").last, r.stdout.split(separator: "\n").last)

        // --json: one report object.
        let json = wgagent(["apply", "--dry-run", "--json", "--profile", "site-gateway"] + hubValues, on: FakeSite().host)
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["dry_run"] as? Bool, true)
        XCTAssertEqual(object["failed"] as? Int, 0)
    }

    func testApplyRefusesAMissingValueWithExit2() {
        let r = wgagent(["apply", "--profile", "site-gateway"], on: FakeSite().host)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("wgagent: error: "), r.stderr)
        XCTAssertTrue(r.stderr.contains("address"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    func testStatusAndCommandsThatNeedAnEnrollmentOnANonEnrolledMachine() throws {
        let site = FakeSite()
        let status = wgagent(["status", "--json"], on: site.host)
        XCTAssertEqual(status.status, 0, status.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["enrolled"] as? Bool, false)
        XCTAssertNil(object["hub_url"])
        XCTAssertEqual((object["spool"] as? [String: Int])?["waiting"], 0)

        let human = wgagent(["status"], on: site.host)
        XCTAssertTrue(human.stdout.hasPrefix("not enrolled (no /var/lib/wgagent/enrollment.json)\n"), human.stdout)

        let notEnrolled = "wgagent: error: this machine is not enrolled (no /var/lib/wgagent/enrollment.json): run `wgagent enroll --hub URL --token TOKEN --pin PIN` first\n"
        for args in [["report", "--once"], ["check-port"]] {
            let r = wgagent(args, on: site.host)
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertEqual(r.stderr, notEnrolled, "\(args)")
            XCTAssertEqual(r.stdout, "", "\(args)")
        }
    }

    func testParseErrorsExitWith64AndSayWhy() async {
        let missing = wgagent(["enroll", "--hub", "https://hub.example.net:8443"], on: FakeSite().host)
        XCTAssertEqual(missing.status, 64)
        XCTAssertTrue(missing.stderr.contains("Missing expected argument '--token <token>'"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("Usage: wgagent enroll"), missing.stderr)

        let invalid = wgagent(["check-port", "--port", "70000"], on: FakeSite().host)
        XCTAssertEqual(invalid.status, 64)
        XCTAssertTrue(invalid.stderr.contains("--port must be 1…65535"), invalid.stderr)

        let unknown = wgagent(["frobnicate"], on: FakeSite().host)
        XCTAssertEqual(unknown.status, 64)

        let help = wgagent(["--help"], on: FakeSite().host)
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("SUBCOMMANDS:"), help.stdout)

        let ttl = await wghub(["token", "create", "--data", "/nonexistent", "--ttl", "soon"])
        XCTAssertEqual(ttl.status, 64)
        XCTAssertTrue(ttl.stderr.contains("--ttl \"soon\": a duration like 90s, 15m, 24h or 7d"), ttl.stderr)
    }

    func testServeRefusesBadOptionsAsUsageErrors() async throws {
        let dir = try makeTempDir()
        let endpoint = await wghub(["serve", "--data", dir, "--endpoint", "nohost", "--pool", "192.0.2.0/24", "--no-interface"])
        XCTAssertEqual(endpoint.status, 64)
        XCTAssertTrue(endpoint.stderr.contains("--endpoint:"), endpoint.stderr)
        let listen = await wghub(["serve", "--data", dir, "--endpoint", "203.0.113.1:51820", "--pool", "192.0.2.0/24", "--listen", "example.net:8443"])
        XCTAssertEqual(listen.status, 64)
        XCTAssertTrue(listen.stderr.contains("--listen \"example.net:8443\": \"example.net\" is not an IP address"), listen.stderr)
        let key = await wghub(["serve", "--data", dir, "--endpoint", "203.0.113.1:51820", "--pool", "192.0.2.0/24", "--no-interface"])
        XCTAssertEqual(key.status, 64)
        XCTAssertTrue(key.stderr.contains("--no-interface needs --hub-public-key KEY"), key.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/wghub.sqlite"), "refused before the store is opened")
    }

    func testTokenCreatePrintsTheEnrollLine() async throws {
        let dir = try makeTempDir()
        let r = await wghub(["token", "create", "--data", dir, "--profile", "site-gateway", "--name", "site-a",
                             "--hub", "https://hub.example.net:8443"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 6, r.stdout)
        XCTAssertTrue(lines[0].hasPrefix("token "), lines[0])
        XCTAssertTrue(lines[0].contains(": 1 use, expires "), lines[0])
        XCTAssertTrue(lines[0].hasSuffix(", profile site-gateway, for site-a, no LAN routed without a grant, no agent served by the hub"), lines[0])
        let secret = lines[1]
        XCTAssertTrue(secret.hasPrefix("wgt_"), secret)
        XCTAssertEqual(lines[2], "")
        XCTAssertEqual(lines[3], "on the new machine:")
        // No certificate in the data folder yet: no pin to print.
        XCTAssertEqual(lines[4], "  wgagent enroll --hub https://hub.example.net:8443 --token \(secret) --profile site-gateway")
        XCTAssertEqual(lines[5], "")

        let list = await wghub(["token", "list", "--data", dir])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("\tenroll\t"), list.stdout)
        XCTAssertTrue(list.stdout.contains("\t0/1\t"), list.stdout)
        XCTAssertTrue(list.stdout.hasSuffix("\tsite-gateway\tsite-a\n"), list.stdout)
        XCTAssertFalse(list.stdout.contains(secret), "never the secret")
    }
}
