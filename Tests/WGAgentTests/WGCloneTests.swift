import Foundation
import WGModel
import WGProvision
import WGProvisionTesting
import XCTest

@testable import WGAgent
@testable import WGHub

/// One identity per machine: a Proxmox clone (same disk, new SMBIOS UUID and instance-id) does not pose as the
/// original — against the real hub (in-process, TLS).
final class WGCloneTests: XCTestCase {
    func machine(uuid: String, instance: String) -> WGFakeHost {
        let host = fakeDebian()
        host.addFile("/sys/class/dmi/id/product_uuid", uuid + "\n", permissions: 0o400)
        host.addFile("/etc/machine-id", "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
        host.addFile("/var/lib/cloud/data/instance-id", instance + "\n")
        return host
    }

    func enroll(_ host: WGFakeHost, _ options: WGEnrollOptions) async throws -> WGEnrollResult {
        let facts = try WGFacts.gather(host)
        return try await blocking { try WGEnroller(host: host, facts: facts).enroll(options) }
    }

    func testAClonedDiskGetsItsOwnKeyAndAddressAndTheOriginalKeepsTheirs() async throws {
        let hub = try LiveHub()
        let host = machine(uuid: "6A1B0C9E-0000-4000-8000-000000000001", instance: "iid-original")
        try await hub.serve { url in
            let original = try await enroll(host, WGEnrollOptions(hubURL: url, token: try hub.token(), pin: hub.tls.pin, profile: siteGateway)).enrollment
            XCTAssertEqual(original.machine?.productUUID, "6a1b0c9e-0000-4000-8000-000000000001")
            XCTAssertEqual(original.machine?.instanceID, "iid-original")
            let originalKey = try XCTUnwrap(host.text("/etc/wireguard/wg0.key"))
            XCTAssertEqual(WGDoctor(host: host, facts: try WGFacts.gather(host), enrollment: original, interface: nil).identity().verdict, .ok)

            // An instance-id change alone (Proxmox regenerates it when its cloud-init settings change) is no clone.
            host.addFile("/var/lib/cloud/data/instance-id", "iid-settings-changed\n")
            XCTAssertNil(original.cloneReason(host))

            // The disk also has the wg0.conf the original's apply wrote, holding its private key.
            host.addFile("/etc/wireguard/wg0.conf", "[Interface]\nPrivateKey = \(originalKey.trimmingCharacters(in: .whitespacesAndNewlines))\nAddress = \(original.address)\n", permissions: 0o600)

            // The clone: the same files, a new SMBIOS UUID and instance-id.
            host.addFile("/sys/class/dmi/id/product_uuid", "6a1b0c9e-0000-4000-8000-0000000000c2\n", permissions: 0o400)
            host.addFile("/var/lib/cloud/data/instance-id", "iid-clone\n")
            let why = try XCTUnwrap(original.cloneReason(host))
            XCTAssertTrue(why.contains("0000000000c2"), why)
            let finding = WGDoctor(host: host, facts: try WGFacts.gather(host), enrollment: original, interface: nil).identity()
            XCTAssertEqual(finding.verdict, .problem)
            XCTAssertTrue(finding.fix?.contains("wgagent enroll") == true, "\(finding)")

            // Its reporter does not report with the original's credential and stops the tunnel holding its key.
            host.respond(to: ["systemctl", "stop"], with: WGCommandResult())
            let reporter = try WGReporter(host: host, enrollment: original,
                                          collector: WGHealthCollector(doctor: WGDoctor(host: host, facts: try WGFacts.gather(host), enrollment: original, interface: nil)))
            let stopped = reporter.run(interval: 60, rounds: 1)   // returns at once: no network
            XCTAssertNotNil(stopped)
            XCTAssertTrue(host.commands.contains(["systemctl", "stop", "wg-quick@wg0"]), "\(host.commands)")
            let lastReport = try await hub.store.allSites().first?.lastReportAt
            XCTAssertNil(lastReport, "no report reached the hub")

            // The clone's own user-data enrolls it with its own token: a new key, a new site and address.
            let clone = try await enroll(host, WGEnrollOptions(hubURL: url, token: try hub.token(), pin: hub.tls.pin, profile: siteGateway)).enrollment
            XCTAssertNotEqual(clone.publicKey, original.publicKey)
            XCTAssertNotEqual(clone.address, original.address)
            XCTAssertNotEqual(clone.siteID, original.siteID)
            XCTAssertEqual(clone.machine?.productUUID, "6a1b0c9e-0000-4000-8000-0000000000c2")
            XCTAssertNotEqual(host.text("/etc/wireguard/wg0.key"), originalKey, "never the original's key")
            // The original's key and enrollment are kept aside (0600), not lost and not used.
            let aside = "/etc/wireguard/wg0.key.original-site-\(original.siteID!)"
            XCTAssertEqual(host.text(aside), originalKey)
            XCTAssertEqual(host.fileInfo(aside)?.permissions, 0o600)
            XCTAssertNotNil(host.text(WGEnrollmentStore.path + ".original-site-\(original.siteID!)"))
            XCTAssertNil(clone.cloneReason(host))
            XCTAssertEqual(host.fileInfo("/etc/wireguard/wg0.conf.original-site-\(original.siteID!)")?.permissions, 0o600,
                           "the original's wg0.conf (its key inside) set aside too, not adopted")

            // The hub keeps both sites: the original with its key and address.
            let sites = try await hub.store.allSites()
            XCTAssertEqual(sites.count, 2)
            XCTAssertEqual(sites.first { $0.id == original.siteID }?.publicKey, original.publicKey)
            XCTAssertEqual(sites.first { $0.id == original.siteID }.map { "\($0.address)/24" }, original.address)
        }
    }
}
