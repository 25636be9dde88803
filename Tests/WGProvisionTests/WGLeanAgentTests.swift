import XCTest
import WGModel
@testable import WGProvision
import WGProvisionTesting

/// What replaced Yams, swift-mustache and spawned programs in the agent: WGYAML (libyaml), WGTemplates (a Mustache
/// subset), WGFileFacts (files instead of `ip`, `dpkg-query`, `ufw`), WGText.
final class WGLeanAgentTests: XCTestCase {
    func testYAMLNodesKeepLineAndColumn() throws {
        let doc = try XCTUnwrap(try WGYAML.compose("a: 1\nlist:\n  - x\n  - 'yes'\nflag: yes\nref: &r {k: v}\ncopy: *r\n"))
        let m = try XCTUnwrap(doc.mapping)
        XCTAssertEqual(m["a"]?.string, "1")
        XCTAssertEqual(m["a"]?.int, 1)
        XCTAssertEqual(m["a"]?.line, 1)
        XCTAssertEqual(m["a"]?.column, 4)
        XCTAssertEqual(m["list"]?.sequence?.map(\.string), ["x", "yes"])
        XCTAssertEqual(m["list"]?.sequence?[1].line, 4)
        XCTAssertNil(m["list"]?.sequence?[1].bool, "a quoted 'yes' is text")
        XCTAssertEqual(m["flag"]?.bool, true)
        XCTAssertEqual(m["copy"]?.mapping?["k"]?.string, "v")
        XCTAssertEqual(m.map { $0.0.string ?? "" }, ["a", "list", "flag", "ref", "copy"], "order as written")
        XCTAssertNil(try WGYAML.compose("# only a comment\n"))
    }

    func testYAMLErrorsSayWhere() {
        XCTAssertThrowsError(try WGYAML.compose("a: [1, 2\nb: 3\n")) { error in
            let e = error as? WGYAMLError
            XCTAssertNotNil(e)
            XCTAssertGreaterThanOrEqual(e?.line ?? 0, 2, "\(error)")
        }
        XCTAssertThrowsError(try WGYAML.compose("a: 1\na: 2\n")) { error in
            XCTAssertEqual((error as? WGYAMLError)?.line, 2)
            XCTAssertTrue("\(error)".contains("\"a\" is given twice"), "\(error)")
        }
        XCTAssertThrowsError(try WGProfile.parse("role: hub\n  interface: [\n", name: "x", source: "x.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("profile x.yaml:2:"), "\(error)")
            XCTAssertTrue("\(error)".contains("field \"(yaml)\": not valid YAML"), "\(error)")
        }
    }

    func testTemplatesRenderTheSubsetMustacheDefines() throws {
        let t = "a {{x}}\n{{#list}}\n- {{.}}\n{{/list}}\n{{^none}}\nnone\n{{/none}}\n  {{! a comment }}\n{{#map}}{{k}}/{{x}}{{/map}} <{{missing}}>\n"
        let out = try WGTemplates.render(t, ["x": "1 & <2>", "list": ["p", "q"], "map": ["k": "v"], "none": [String]()])
        XCTAssertEqual(out, "a 1 & <2>\n- p\n- q\nnone\nv/1 & <2> <>\n", "no HTML escaping; standalone tag lines leave nothing")
        XCTAssertEqual(try WGTemplates.render("{{#s}}[{{s}}]{{/s}}{{#f}}no{{/f}}", ["s": "", "f": false]), "[]",
                       "a string renders once, even empty; false not at all")
        XCTAssertThrowsError(try WGTemplates.render("{{#a}}x", [:]))
        XCTAssertThrowsError(try WGTemplates.render("{{> partial}}", [:]))
    }

    func testRoutesFromProcNetRoute() throws {
        let host = WGFakeHost()
        host.addFile("/proc/net/route", """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            wg0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            ens18\t00000000\t016433C6\t0003\t0\t0\t100\t00000000\t0\t0\t0
            ens18\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            ens18\t056433C6\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0

            """)
        let r = try XCTUnwrap(WGFileFacts.routes(host))
        XCTAssertEqual(r.egress, "ens18")
        XCTAssertEqual(r.subnets, ["198.51.100.0/24"], "host routes and other interfaces are not the LAN")
        XCTAssertNil(WGFileFacts.routes(WGFakeHost()), "no file: ask `ip`")
    }

    func testInstalledPackagesFromDpkgStatus() {
        let host = WGFakeHost()
        host.addFile("/var/lib/dpkg/status", """
            Package: ufw
            Status: install ok installed
            Version: 0.36.2-1

            Package: sudo
            Status: deinstall ok config-files

            Package: iproute2
            Status: install ok installed

            """)
        let debian = WGPlatform.debian
        XCTAssertEqual(WGFileFacts.installedPackages(host, debian, among: ["ufw", "sudo", "wireguard-tools"]), ["ufw"])
    }

    func testUfwRulesFromUserRules() {
        let host = WGFakeHost()
        host.addFile("/etc/ufw/user.rules", """
            ### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in
            -A ufw-user-input -p tcp --dport 22 -j ACCEPT
            ### tuple ### allow udp 51820 0.0.0.0/0 any 0.0.0.0/0 in
            ### tuple ### route:allow any any 0.0.0.0/0 any 0.0.0.0/0 in_wg0!out_ens18
            ### tuple ### allow tcp 80 0.0.0.0/0 any 203.0.113.9 in
            """)
        XCTAssertEqual(WGFileFacts.ufwAddedRules(host),
                       ["allow 22/tcp", "allow 51820/udp", "route allow in on wg0 out on ens18",
                        "tuple: allow tcp 80 0.0.0.0/0 any 203.0.113.9 in"])
    }

    func testTextHelpers() {
        XCTAssertEqual("  a b \n".wgTrimmed(), "a b")
        XCTAssertEqual(" a\n".wgTrimmed(.whitespaces), "a\n")
        XCTAssertEqual("\"deny\" ".wgTrimmed(.characters("\" ")), "deny")
        XCTAssertEqual(WGText.hex([0, 15, 255]), "000fff")
        XCTAssertEqual(WGText.zeroPadded(42, width: 5), "00042")
        XCTAssertEqual(WGText.oneDecimal(2.25), "2.3")
        XCTAssertEqual(WGText.oneDecimal(0.04), "0.0")
        XCTAssertEqual(WGText.utcStamp(secondsSince1970: 1_700_000_000), "20231114T221320Z")
        XCTAssertEqual(WGPath.lastComponent("/etc/wireguard/wg0.key"), "wg0.key")
        XCTAssertEqual(WGPath.deletingLastComponent("/etc/wireguard/wg0.key"), "/etc/wireguard")
        XCTAssertEqual(WGPath.deletingLastComponent("/etc"), "/")
        XCTAssertEqual("ab".wgPadded(4) + "|", "ab  |")
    }
}
