import Foundation
import WGModel
@testable import WGProvision

/// Fake machines for plan tests: just enough files and command answers to look like a fresh VM.
enum WGFakeMachines {
    static let hubKey = "fNUy3EpaYPKa6R5Cs7aF1xdcrTC44IKCfuOVt+QcPnM="

    static func base(_ host: WGFakeHost) {
        host.addFile("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        host.addFile("/etc/group", "root:x:0:\nsudo:x:27:\nwheel:x:10:root\n")
        host.addFile("/etc/shadow", "root:*:19000:0:99999:7:::\n", permissions: 0o640)
        host.addDirectory("/etc/sysctl.d")
        host.addDirectory("/var/lib")
        host.addFile("/proc/sys/net/ipv4/ip_forward", "0\n")
        host.respond(to: ["ip", "-4", "route", "show", "default"], with: WGCommandResult(stdout: "default via 198.51.100.1 dev ens18 proto static\n"))
        host.respond(to: ["ip", "-4", "route", "show", "dev", "ens18"], with: WGCommandResult(stdout: "198.51.100.0/24 proto kernel scope link src 198.51.100.2\n"))
    }

    /// Debian 12 booted with systemd, nothing installed yet.
    static func debian(version: String = "12", codename: String = "bookworm") -> WGFakeHost {
        let host = WGFakeHost()
        base(host)
        host.addFile("/etc/os-release", """
            PRETTY_NAME="Debian GNU/Linux \(version) (\(codename))"
            NAME="Debian GNU/Linux"
            VERSION_ID="\(version)"
            VERSION_CODENAME=\(codename)
            ID=debian
            """)
        host.addDirectory("/run/systemd/system")
        host.addDirectory("/etc/apt/sources.list.d")
        host.respond(to: ["dpkg-query"]) { argv in
            // Nothing installed: dpkg-query prints nothing for unknown packages and exits 1.
            WGCommandResult(status: 1, stderr: argv.dropFirst(3).map { "dpkg-query: no packages found matching \($0)" }.joined(separator: "\n"))
        }
        host.respond(to: ["systemctl", "is-enabled"], with: WGCommandResult(status: 1, stdout: "disabled\n"))
        host.respond(to: ["systemctl", "is-active"], with: WGCommandResult(status: 3))
        return host
    }

    /// Alpine 3.20 booted with OpenRC, community repository commented out, nothing installed.
    static func alpine() -> WGFakeHost {
        let host = WGFakeHost()
        base(host)
        host.addFile("/etc/os-release", """
            NAME="Alpine Linux"
            ID=alpine
            VERSION_ID=3.20.3
            PRETTY_NAME="Alpine Linux v3.20"
            """)
        host.addDirectory("/run/openrc")
        host.addDirectory("/etc/init.d")
        host.addFile("/etc/apk/repositories", "https://dl-cdn.alpinelinux.org/alpine/v3.20/main\n#https://dl-cdn.alpinelinux.org/alpine/v3.20/community\n")
        host.respond(to: ["apk", "info", "-e"], with: WGCommandResult(status: 1))
        host.respond(to: ["rc-update", "show"], with: WGCommandResult(stdout: "  sshd | default\n"))
        host.respond(to: ["rc-service"], with: WGCommandResult(status: 3))
        return host
    }

    static func context(_ host: WGFakeHost, profile: String = "site-gateway", vars: [String] = [], varsFiles: [(String, String)] = []) throws -> WGContext {
        let source = WGFileSource()
        let p = try source.loadProfile(profile)
        var all = vars
        if profile != "hub" && !vars.contains(where: { $0.hasPrefix("hub_endpoint=") }) {
            all = ["address=192.0.2.2/24", "hub_endpoint=203.0.113.1:51820", "hub_public_key=\(hubKey)"] + vars
        }
        let variables = try WGVariables.resolve(profile: p, varsFiles: varsFiles.map { (name: $0.0, text: $0.1) }, vars: all)
        return WGContext(host: host, facts: try WGFacts.gather(host), spec: try WGSpec.build(profile: p, variables: variables), files: source)
    }

    static func plan(_ ctx: WGContext) -> WGRunReport {
        WGApplier(context: ctx, resources: WGApplier.standardResources).run(dryRun: true)
    }
}

extension WGRunReport {
    func resource(_ name: String) -> WGResourceOutcome? { resources.first { $0.name == name } }
    var allArgv: [[String]] { resources.flatMap { $0.changes.compactMap(\.argv) } }
}
