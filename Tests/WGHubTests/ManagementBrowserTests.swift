import Foundation
import WGModel
import XCTest

@testable import WGHub

/// Managing the hub from a real headless Chromium (tests/browser/manage_hub.py drives it over the DevTools
/// protocol) against a live TLS hub: sign in, create a token and read its enroll line and user-data off the page,
/// revoke it, grant a LAN prefix, delete a site, sign out. What the browser saw is checked here, and so is the store:
/// the page's token is the real secret (revoked, the hub refuses it), the site is gone from the store and the interface.
/// Screenshots: lab-out/wghub-manage-{table,token,site}.png.
final class ManagementBrowserTests: XCTestCase {
    func testAdminManagesTokensAndSitesInChromium() async throws {
        let chromium = which("chromium")
        try requireEnvironment(chromium != nil, "needs Debian's chromium (scripts/install-deps.sh)")
        try requireEnvironment((try? runCommand(["/usr/bin/python3", "-c", "import websocket"])) != nil,
                               "needs Debian's python3-websocket (scripts/install-deps.sh)")
        let t = try TestHub()
        let admin = try t.admin()
        let lan = "198.51.100.0/24"
        let doomed = try await t.hub.enroll(enrollBody(token: try t.token(), hostname: "lisbon-shop", lan: [lan]), from: "203.0.113.21")
        _ = try await t.hub.enroll(enrollBody(token: try t.token(), hostname: "berlin-office"), from: "203.0.113.20")
        let doomedKey = try await t.store.site(id: doomed.siteID!)!.publicKey
        let out = packageRoot.appendingPathComponent("lab-out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for n in ["table", "token", "site"] { try? FileManager.default.removeItem(at: out.appendingPathComponent("wghub-manage-\(n).png")) }

        var seen: [String: Any] = [:]
        try await withLiveHub(t) { url, _ in
            let script = packageRoot.appendingPathComponent("tests/browser/manage_hub.py").path
            let r = try await blocking {
                try runCommand(["/usr/bin/python3", script, chromium!, url, admin, "\(doomed.siteID!)", "lisbon-shop", lan, out.path],
                               timeout: 240, check: false)
            }
            let json = try XCTUnwrap(r.out.split(separator: "\n").last.map(String.init), "no output: \(r.err)")
            seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
            XCTAssertNil(seen["error"], "\(seen["error"] ?? "") \(r.err.suffix(2000))")
            XCTAssertEqual(r.status, 0)
        }
        func text(_ k: String) -> String { seen[k] as? String ?? "<\(k) missing>" }
        func contains(_ k: String, _ s: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertTrue(text(k).contains(s), "\(k) lacks \"\(s)\": \(text(k).prefix(1500))", file: file, line: line)
        }

        // Sign-in: anonymous goes to /signin, a wrong token is refused in words, the right one lands on the table.
        XCTAssertTrue(text("anonymous_path").hasPrefix("/signin"), text("anonymous_path"))
        contains("wrong_token_text", "not a valid admin token")
        XCTAssertEqual(text("signed_in_path"), "/")
        contains("table_text", "lisbon-shop")
        contains("table_text", "berlin-office")
        contains("table_text", "Sign out")
        let cookies = try XCTUnwrap(seen["cookies"] as? [[String: Any]])
        let cookie = try XCTUnwrap(cookies.first { $0["name"] as? String == WGSessions.secureCookieName }, "\(cookies)")
        XCTAssertEqual(cookie["httpOnly"] as? Bool, true)
        XCTAssertEqual(cookie["secure"] as? Bool, true)
        XCTAssertEqual(cookie["sameSite"] as? String, "Strict")
        XCTAssertEqual(cookie["path"] as? String, "/")
        XCTAssertEqual(text("cookie_visible_to_script"), "", "HttpOnly: the page's scripts cannot read the session")

        // The new token: its enroll line and user-data on the page, the copy button, the download.
        contains("created_text", "only time its secret is shown")
        let enroll = text("enroll_line")
        XCTAssertNotNil(enroll.range(of: #"^wgagent enroll --hub \S+ --token wgt_[A-Za-z0-9_-]{43} --pin sha256//\S+$"#, options: .regularExpression), enroll)
        contains("user_data", "#cloud-config")
        contains("user_data", "runcmd")
        XCTAssertTrue(text("user_data").contains(text("token_id")), "the user-data names its token")
        XCTAssertEqual(text("download_href_prefix"), "data:text/cloud-config;charset=utf-8;bas")
        XCTAssertEqual(text("download_name"), "user-data")
        XCTAssertEqual(text("copy_button"), "Copied")
        XCTAssertEqual(text("clipboard"), enroll, "the copy button put the enroll line on the clipboard")
        let tokenID = text("token_id")
        contains("token_row_before", "valid")
        contains("token_row_after", "revoked")
        contains("revoked_text", "Token \(tokenID) revoked")
        // The token the page showed is the real one, and the browser's revoke reached the store.
        let secret = try XCTUnwrap(enroll.split(separator: " ").first { $0.hasPrefix("wgt_") }.map(String.init))
        XCTAssertEqual(try t.store.tokens().first { $0.id == tokenID }?.state(now: Date()), "revoked")
        do {
            _ = try await t.hub.enroll(enrollBody(token: secret, hostname: "too-late"), from: "203.0.113.30")
            XCTFail("a revoked token enrolled")
        } catch let e as WGHubError { XCTAssertEqual(e.reason, "token_revoked") }

        // The site: granted from its page (the interface got the route), then deleted after its name was typed.
        contains("site_text_before", "Manage")
        contains("site_text_before", "pending")
        contains("granted_text", "Granted: \(lan)")
        XCTAssertTrue(t.wg.calls.contains("route add \(lan)"), "\(t.wg.calls)")
        contains("confirm_text", "Type the site's name")
        contains("wrong_confirm_text", "nothing was deleted")
        contains("deleted_text", "Site lisbon-shop (#\(doomed.siteID!)) deleted")
        XCTAssertFalse(text("deleted_text").contains("lisbon-shop #"), "the row is gone")
        await AssertNil(try await t.store.site(id: doomed.siteID!))
        XCTAssertNil(t.wg.peers[doomedKey], "its peer left the interface")

        // Signed out: the session is gone.
        XCTAssertTrue(text("signed_out_path").hasPrefix("/signin"), text("signed_out_path"))
        XCTAssertTrue(text("after_signout_path").hasPrefix("/signin"), text("after_signout_path"))
        XCTAssertEqual(t.hub.sessions.count, 0)

        for n in ["table", "token", "site"] {
            let shot = out.appendingPathComponent("wghub-manage-\(n).png")
            let png = try Data(contentsOf: shot)
            XCTAssertGreaterThan(png.count, 10_000, "\(shot.path)")
            XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
            print("screenshot: \(shot.path)")
        }
        let m = await WGMetricsPage.render(hub: t.hub)
        XCTAssertTrue(m.contains("wghub_signins_total 1"), m)
        XCTAssertTrue(m.contains("wghub_signins_refused_total 1"), m)
        XCTAssertTrue(m.contains("wghub_tokens_created_total 1"), m)
        XCTAssertTrue(m.contains("wghub_tokens_revoked_total 1"), m)
    }
}
