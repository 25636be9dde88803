import Foundation
import XCTest

/// A network namespace owned by one test, with the wg-quick interfaces the test brought up in it.
/// `destroy()` (call it in a defer) takes the interfaces down, waits for their wireguard-go
/// sockets to go, and deletes the namespace. Nothing is killed by name.
final class WGNetns {
    let name: String
    let ip: String
    let wgQuick: String
    private var upConfigs: [(path: String, interface: String)] = []

    init(name: String, tools: [String: String]) throws {
        self.name = name
        self.ip = tools["ip"]!
        self.wgQuick = tools["wg-quick"]!
        let r = try WGRun.run([ip, "netns", "add", name])
        guard r.status == 0 else {
            throw WGNetnsError("ip netns add \(name) failed (\(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))): a stale one from a crashed run? remove it with `ip netns del \(name)`")
        }
    }

    /// Runs argv inside the namespace; throws with stderr on failure.
    @discardableResult
    func exec(_ argv: [String]) throws -> String {
        let r = try WGRun.run([ip, "netns", "exec", name] + argv)
        guard r.status == 0 else {
            throw WGNetnsError("in netns \(name): \(argv.joined(separator: " ")) exited \(r.status): \(r.stderr)")
        }
        return r.stdout
    }

    func up(config path: String, interface: String) throws {
        upConfigs.append((path, interface))
        try exec([wgQuick, "up", path])
    }

    func destroy() {
        for (path, interface) in upConfigs.reversed() {
            if (try? exec([wgQuick, "down", path])) == nil {
                _ = try? exec([ip, "link", "delete", "dev", interface])
            }
            // wireguard-go exits once its tun device is gone; wait (bounded) for its socket.
            let sock = "/run/wireguard/\(interface).sock"
            for _ in 0..<50 where FileManager.default.fileExists(atPath: sock) { usleep(100_000) }
        }
        upConfigs = []
        _ = try? WGRun.run([ip, "netns", "del", name])
    }
}

struct WGNetnsError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Writes `text` to dir/name with mode 0600 (wg-quick warns about world-readable configs).
func writePrivate(_ text: String, _ dir: URL, _ name: String) throws -> String {
    let url = dir.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    return url.path
}
