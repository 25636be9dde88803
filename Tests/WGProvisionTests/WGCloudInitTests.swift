import XCTest
import Yams
@testable import WGProvision

/// `wghub token create --cloud-init`: user-data a YAML parser reads back as exactly the enroll argv.
final class WGCloudInitTests: XCTestCase {
    func testUserDataRunsTheEnrollArgvWithoutAShell() throws {
        let argv = ["/usr/local/bin/wgagent", "enroll", "--hub", "https://203.0.113.1:8443", "--token", "wgt_a-b_c",
                    "--pin", "sha256//P/dzMwe+Rw0EIfUvGIuWt/NF3Fx9e5YWu4odwMpgMQ4="]
        let text = try WGCloudInit.userData(argv: argv, hub: "https://203.0.113.1:8443",
                                            about: "token tok_1, 1 use, for branch\noffice: # not a key")
        XCTAssertTrue(text.hasPrefix("#cloud-config\n"), "cloud-init reads the first line")
        let doc = try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any])
        XCTAssertEqual(Array(doc.keys), ["runcmd"], "a label with a line break stays inside the comment")
        let runcmd = try XCTUnwrap(doc["runcmd"] as? [[String]])
        XCTAssertEqual(runcmd, [argv], "one runcmd item, a list: argv, no shell string")
    }

    func testValuesThatLookLikeYAMLStayStrings() throws {
        // Values YAML would otherwise read as numbers, booleans, null or comments.
        let argv = ["/usr/local/bin/wgagent", "enroll", "--token", "yes", "--hub", "0x10", "--profile", "#x: ~"]
        let doc = try XCTUnwrap(try Yams.load(yaml: try WGCloudInit.userData(argv: argv, hub: "h", about: "a")) as? [String: Any])
        XCTAssertEqual(doc["runcmd"] as? [[String]], [argv])
    }
}
