import XCTest
@testable import WGProvision

/// The real host on a scratch directory used as its root: atomic writes, modes, commands as argv.
final class WGLocalHostTests: XCTestCase {
    var dir: String!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("wghost-\(getpid())-\(UUID().uuidString.prefix(6))").path
        try? FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testAtomicWriteUsesTheModeAndLeavesNoTempFiles() throws {
        let host = WGLocalHost(root: dir)
        try host.makeDirectory("/etc/wireguard", permissions: 0o700)
        try host.writeFileAtomically("/etc/wireguard/wg0.key", contents: Data("secret\n".utf8), permissions: 0o600)
        try host.writeFileAtomically("/etc/wireguard/wg0.key", contents: Data("secret2\n".utf8), permissions: 0o600)
        XCTAssertEqual(host.fileInfo("/etc/wireguard/wg0.key")?.permissions, 0o600)
        XCTAssertEqual(host.fileInfo("/etc/wireguard")?.permissions, 0o700)
        XCTAssertEqual(try host.readText("/etc/wireguard/wg0.key"), "secret2\n")
        XCTAssertEqual(host.listDirectory("/etc/wireguard"), ["wg0.key"])
        XCTAssertNil(try host.readFile("/etc/nothing"))
        XCTAssertThrowsError(try host.writeFileAtomically("/no/such/dir/f", contents: Data(), permissions: 0o600))
    }

    func testRunPassesArgvUntouchedAndStreamsLines() throws {
        let host = WGLocalHost()
        let tricky = "a b; echo pwned $(id) 'q'"
        let r = try host.run(["printf", "%s\n", tricky])
        XCTAssertEqual(r.stdout, tricky + "\n", "no shell ever sees the argument")
        var lines: [String] = []
        let r2 = try host.run(["sh", "-c", "echo one; echo two >&2; echo three; exit 3"], input: nil) { lines.append($0) }
        XCTAssertEqual(r2.status, 3)
        XCTAssertEqual(lines, ["one", "three"], "stdout lines, in order, as they come")
        XCTAssertEqual(r2.stdout, "one\nthree\n")
        XCTAssertEqual(r2.stderr, "two\n", "stderr kept apart")
        let big = Data(repeating: 65, count: 1 << 20)
        let r3 = try host.run(["cat"], input: big, onLine: nil)
        XCTAssertEqual(r3.stdout.utf8.count, 1 << 20, "large stdin and stdout do not deadlock")
        XCTAssertThrowsError(try host.run(["no-such-command-wg"])) { XCTAssertTrue("\($0)".contains("command not found")) }
    }

    func testFactsFromARootDirectory() throws {
        let host = WGLocalHost(root: dir)
        try "ID=debian\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\nPRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\n"
            .write(toFile: dir + "/etc/os-release", atomically: true, encoding: .utf8)
        let os = WGOSRelease.parse(try XCTUnwrap(host.readText("/etc/os-release")))
        XCTAssertEqual(os.id, "debian")
        XCTAssertEqual(os.majorVersion, 11)
        XCTAssertEqual(try WGPlatform.forRelease(os), .debian)
        XCTAssertThrowsError(try WGPlatform.forRelease(WGOSRelease(id: "arch", versionID: "", prettyName: "Arch Linux"))) {
            XCTAssertTrue("\($0)".contains("supports Alpine, Debian 10–13 and Ubuntu"))
        }
    }
}
