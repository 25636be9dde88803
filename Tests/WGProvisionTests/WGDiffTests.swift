import XCTest
@testable import WGProvision

final class WGDiffTests: XCTestCase {
    func testUnifiedDiffMatchesDiffU() throws {
        let old = (1...10).map { "line \($0)" }.joined(separator: "\n") + "\n"
        var newLines = (1...10).map { "line \($0)" }
        newLines[4] = "line five"
        newLines.append("line 11")
        let new = newLines.joined(separator: "\n") + "\n"
        let ours = WGDiff.unified(old: old, new: new, path: "f")
        // The system's diff is the oracle for the hunks.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wgdiff-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try old.write(to: dir.appendingPathComponent("a"), atomically: true, encoding: .utf8)
        try new.write(to: dir.appendingPathComponent("b"), atomically: true, encoding: .utf8)
        let r = try WGLocalHost().run(["diff", "-u", dir.appendingPathComponent("a").path, dir.appendingPathComponent("b").path])
        XCTAssertEqual(r.status, 1)
        let hunks = { (s: String) in s.split(separator: "\n").drop { !$0.hasPrefix("@@") }.joined(separator: "\n") }
        XCTAssertEqual(hunks(ours), hunks(r.stdout))
        XCTAssertEqual(WGDiff.unified(old: old, new: old, path: "f"), "")
        XCTAssertTrue(WGDiff.unified(old: nil, new: "a\n", path: "f").contains("--- /dev/null\n+++ f\n@@ -0,0 +1,1 @@\n+a"))
    }

    func testSecretsAreRedacted() {
        let r = WGSecrets.redactConfig("[Interface]\nPrivateKey = abc\n[Peer]\npresharedkey=def\nPublicKey = pub\n")
        XCTAssertFalse(r.contains("abc"))
        XCTAssertFalse(r.contains("def"))
        XCTAssertTrue(r.contains("PublicKey = pub"))
    }
}
