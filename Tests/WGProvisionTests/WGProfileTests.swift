import XCTest
@testable import WGProvision

/// Profiles and variables: every embedded profile loads, and every mistake names file, line and field.
final class WGProfileTests: XCTestCase {
    func testEmbeddedProfilesLoad() throws {
        let source = WGFileSource()
        XCTAssertEqual(source.profileNames(), ["hub", "roadwarrior", "site-gateway"])
        for name in source.profileNames() {
            let p = try source.loadProfile(name)
            XCTAssertEqual(p.name, name)
            XCTAssertTrue(p.text.hasPrefix("# \(name) — "), "each profile documents itself")
        }
        let sg = try source.loadProfile("site-gateway")
        XCTAssertEqual(sg.role, .siteGateway)
        XCTAssertEqual(sg.variable("listen_port")?.defaultValue, "51820")
        XCTAssertEqual(sg.variable("lan_access")?.choices, ["masquerade", "route"])
    }

    func testTypoInAProfileNamesLineAndField() {
        let text = "role: site-gateway\ninterface: wg0\nfirewal: true\n"
        XCTAssertThrowsError(try WGProfile.parse(text, name: "x", source: "x.yaml")) { error in
            XCTAssertEqual("\(error)".prefix(39), "profile x.yaml:3:1: field \"firewal\": un")
        }
    }

    func testBadDefaultInAProfileIsCaughtWhenItLoads() {
        let text = """
            role: roadwarrior
            variables:
              address:
                type: cidr
                default: 10.0.0.0/33
            """
        XCTAssertThrowsError(try WGProfile.parse(text, name: "rw", source: "rw.yaml")) { error in
            let e = error as? WGProfileError
            XCTAssertEqual(e?.line, 5)
            XCTAssertEqual(e?.field, "address.default")
            XCTAssertTrue(e?.message.contains("33") == true, "\(error)")
        }
    }

    func testUnknownRoleListsTheRoles() {
        XCTAssertThrowsError(try WGProfile.parse("role: gateway\n", name: "g", source: "g.yaml")) { error in
            XCTAssertTrue("\(error)".contains("g.yaml:1:7: field \"role\""), "\(error)")
            XCTAssertTrue("\(error)".contains("hub, site-gateway, roadwarrior"), "\(error)")
        }
    }

    func testVarErrorsNameTheField() throws {
        let p = try WGFileSource().loadProfile("site-gateway")
        let key = WGFakeMachines.hubKey
        func err(_ vars: [String]) -> String {
            do { _ = try WGVariables.resolve(profile: p, varsFiles: [], vars: vars); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(err(["address=192.0.2.2/33", "hub_endpoint=203.0.113.1:51820", "hub_public_key=\(key)"])
            .hasPrefix("--var: field \"address\":"))
        XCTAssertTrue(err(["address=192.0.2.2/24", "hub_endpoint=203.0.113.1:51820"]).contains("field \"hub_public_key\": required but not given"))
        XCTAssertTrue(err(["address=192.0.2.2/24", "hub_endpoint=203.0.113.1:70000", "hub_public_key=\(key)"]).contains("field \"hub_endpoint\""))
        XCTAssertTrue(err(["adress=192.0.2.2/24"]).contains("no such variable"))
        XCTAssertTrue(err(["address=192.0.2.2/24", "hub_endpoint=203.0.113.1:51820", "hub_public_key=\(key)", "lan_access=bridge"])
            .contains("\"bridge\" is not one of masquerade, route"))
        XCTAssertEqual(err(["address=192.0.2.2/24", "hub_endpoint=203.0.113.1:51820", "hub_public_key=\(key)"]), "no error")
    }

    func testVarsFileErrorsNameFileAndLine() throws {
        let p = try WGFileSource().loadProfile("site-gateway")
        let file = """
            address: 192.0.2.2/24
            hub_endpoint: 203.0.113.1:51820
            hub_public_key: \(WGFakeMachines.hubKey)
            listen_port: 99999
            """
        XCTAssertThrowsError(try WGVariables.resolve(profile: p, varsFiles: [("site.yaml", file)], vars: [])) { error in
            XCTAssertTrue("\(error)".hasPrefix("vars file site.yaml:4:14: field \"listen_port\": \"99999\" is not a port"), "\(error)")
        }
        // --var wins over the file.
        let good = file.replacingOccurrences(of: "99999", with: "51820")
        let v = try WGVariables.resolve(profile: p, varsFiles: [("site.yaml", good)], vars: ["listen_port=51821"])
        XCTAssertEqual(v["listen_port"]?.number, 51821)
        XCTAssertEqual(v.origins["listen_port"], "--var listen_port")
        XCTAssertEqual(v.origins["address"], "vars file site.yaml:1")
    }

    func testPeerErrorInHubVarsNamesTheLine() throws {
        let p = try WGFileSource().loadProfile("hub")
        let file = """
            address: 192.0.2.1/24
            peers:
              - name: a
                public_key: short
                allowed_ips: [192.0.2.2/32]
            """
        XCTAssertThrowsError(try WGVariables.resolve(profile: p, varsFiles: [("hub.yaml", file)], vars: [])) { error in
            XCTAssertTrue("\(error)".hasPrefix("vars file hub.yaml:4:17: field \"peers\": public_key:"), "\(error)")
        }
    }

    func testProfileFromADirectoryOverridesTheEmbeddedOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wgprof-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "# site-gateway — mine\nrole: roadwarrior\nvariables:\n  address: {type: cidr, required: true}\n  hub_endpoint: {type: endpoint, required: true}\n  hub_public_key: {type: key, required: true}\n"
            .write(toFile: dir + "/site-gateway.yaml", atomically: true, encoding: .utf8)
        let p = try WGFileSource(profilesDirectory: dir).loadProfile("site-gateway")
        XCTAssertEqual(p.role, .roadwarrior)
        XCTAssertEqual(try WGFileSource().loadProfile("site-gateway").role, .siteGateway)
    }

    func testEnrollmentValuesComeFirstThenVarsFilesThenVar() throws {
        let sg = try WGFileSource().loadProfile("site-gateway")
        let key = "fNUy3EpaYPKa6R5Cs7aF1xdcrTC44IKCfuOVt+QcPnM="
        let base = (source: "enrollment /var/lib/wgagent/enrollment.json",
                    values: ["address=192.0.2.7/24", "hub_endpoint=203.0.113.1:51820", "hub_public_key=\(key)", "keepalive=15", "report_interval=2"])
        let v = try WGVariables.resolve(profile: sg, base: base, varsFiles: [("site.yaml", "keepalive: 20\n")], vars: ["report_interval=30"])
        XCTAssertEqual(v["keepalive"]?.number, 20, "a vars file wins over the enrollment")
        XCTAssertEqual(v["report_interval"]?.number, 30, "--var wins over both")
        XCTAssertEqual(v.origins["address"], base.source)
        // A bad value in the enrollment names where it came from.
        XCTAssertThrowsError(try WGVariables.resolve(profile: sg, base: (base.source, ["keepalive=-1"]), varsFiles: [], vars: [])) { error in
            XCTAssertTrue("\(error)".contains("enrollment /var/lib/wgagent/enrollment.json"), "\(error)")
            XCTAssertTrue("\(error)".contains("keepalive"), "\(error)")
        }
    }
}
