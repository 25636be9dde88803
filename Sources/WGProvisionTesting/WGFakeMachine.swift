#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGProvision

/// Fake machines: just enough files and command answers to look like a fresh VM of each kind — a LAN
/// (198.51.100.0/24 behind ens18), nothing installed, services neither enabled nor running. Commands that change
/// the machine are not answered: a test that applies says which ones succeed (the host fails closed).
public enum WGFakeMachine {
    /// Debian 12 booted with systemd.
    public static func debian(version: String = "12", codename: String = "bookworm", hostname: String = "site-a") -> WGFakeHost {
        let host = WGFakeHost()
        base(host, hostname: hostname)
        debianRelease(host, version: version, codename: codename)
        host.addDirectory("/run/systemd/system")
        host.respond(to: ["systemctl", "is-enabled"], with: WGCommandResult(status: 1, stdout: "disabled\n"))
        host.respond(to: ["systemctl", "is-active"], with: WGCommandResult(status: 3))
        return host
    }

    /// Debian 12 booted with OpenRC (sysvinit-core + openrc, as the lab's OpenRC VM).
    public static func debianOpenRC(hostname: String = "site-a") -> WGFakeHost {
        let host = WGFakeHost()
        base(host, hostname: hostname)
        debianRelease(host, version: "12", codename: "bookworm")
        openrc(host)
        return host
    }

    /// Alpine 3.20 booted with OpenRC, community repository commented out.
    public static func alpine(hostname: String = "site-a") -> WGFakeHost {
        let host = WGFakeHost()
        base(host, hostname: hostname)
        host.addFile("/etc/os-release", """
            NAME="Alpine Linux"
            ID=alpine
            VERSION_ID=3.20.3
            PRETTY_NAME="Alpine Linux v3.20"
            """)
        host.addFile("/etc/apk/repositories", "https://dl-cdn.alpinelinux.org/alpine/v3.20/main\n#https://dl-cdn.alpinelinux.org/alpine/v3.20/community\n")
        host.respond(to: ["apk", "info", "-e"], with: WGCommandResult(status: 1))
        openrc(host)
        return host
    }

    static func base(_ host: WGFakeHost, hostname: String) {
        host.addFile("/etc/hostname", hostname + "\n")
        host.addFile("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        host.addFile("/etc/group", "root:x:0:\nsudo:x:27:\nwheel:x:10:root\n")
        host.addFile("/etc/shadow", "root:*:19000:0:99999:7:::\n", permissions: 0o640)
        host.addDirectory("/etc/sysctl.d")
        host.addDirectory("/var/lib")
        host.addFile("/proc/sys/net/ipv4/ip_forward", "0\n")
        host.respond(to: ["ip", "-4", "route", "show", "default"], with: WGCommandResult(stdout: "default via 198.51.100.1 dev ens18 proto static\n"))
        host.respond(to: ["ip", "-4", "route", "show", "dev", "ens18"], with: WGCommandResult(stdout: "198.51.100.0/24 proto kernel scope link src 198.51.100.2\n"))
    }

    static func debianRelease(_ host: WGFakeHost, version: String, codename: String) {
        host.addFile("/etc/os-release", """
            PRETTY_NAME="Debian GNU/Linux \(version) (\(codename))"
            NAME="Debian GNU/Linux"
            VERSION_ID="\(version)"
            VERSION_CODENAME=\(codename)
            ID=debian
            """)
        host.addDirectory("/etc/apt/sources.list.d")
        host.respond(to: ["dpkg-query"]) { argv in
            // Nothing installed: dpkg-query prints nothing for unknown packages and exits 1.
            WGCommandResult(status: 1, stderr: argv.dropFirst(3).map { "dpkg-query: no packages found matching \($0)" }.joined(separator: "\n"))
        }
    }

    static func openrc(_ host: WGFakeHost) {
        host.addDirectory("/run/openrc")
        host.addDirectory("/etc/init.d")
        host.respond(to: ["rc-update", "show"], with: WGCommandResult(stdout: "  sshd | default\n"))
        host.respond(to: ["rc-service"], with: WGCommandResult(status: 3))
    }
}
