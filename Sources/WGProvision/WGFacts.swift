#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// What the machine is, read without changing anything. Resources read their own state on top of this.
public struct WGFacts: Sendable, Equatable {
    public var os: WGOSRelease
    public var platform: WGPlatform
    public var initSystem: WGInitSystem
    /// "qemu" on QEMU/KVM/Proxmox (from DMI), "none" or another name otherwise.
    public var virtualization: String
    /// The interface of the default route: NAT and firewall rules name it, never a hard-coded ens3.
    public var egressInterface: String?
    /// The IPv4 subnets on the egress interface: the LAN a site-gateway serves by default.
    public var egressSubnets: [String]
    /// Whether the kernel has WireGuard; if not, wireguard-go is needed (LXC, old kernels, the lab).
    public var kernelWireGuard: Bool
    public var sshPort: Int

    public var isQEMU: Bool { virtualization == "qemu" }

    public static func gather(_ host: WGHost) throws -> WGFacts {
        let osText = try host.readText("/etc/os-release") ?? host.readText("/usr/lib/os-release")
        guard let osText else {
            throw WGPlatformError.notALinuxRoot(root: host.root)
        }
        let os = WGOSRelease.parse(osText)
        let platform = try WGPlatform.forRelease(os)
        let (egress, subnets) = readEgress(host)
        return WGFacts(
            os: os, platform: platform, initSystem: detectInit(host), virtualization: detectVirtualization(host),
            egressInterface: egress, egressSubnets: subnets,
            kernelWireGuard: kernelHasWireGuard(host), sshPort: readSSHPort(host))
    }

    /// systemd when it runs (or is the installed init), OpenRC otherwise.
    static func detectInit(_ host: WGHost) -> WGInitSystem {
        if host.root == "/" {
            if host.fileExists("/run/systemd/system") { return .systemd }
            if host.fileExists("/run/openrc") { return .openrc }
        }
        // Not booted (a chroot, an image): ask what /sbin/init is.
        if let info = host.fileInfo("/sbin/init"), info.isSymlink, info.symlinkTarget?.contains("systemd") == true {
            return .systemd
        }
        if host.fileExists("/sbin/openrc-run") || host.fileExists("/usr/sbin/openrc-run") { return .openrc }
        return .systemd
    }

    /// The running kernel has WireGuard: loaded, built in, or a module file for this kernel release (a fresh VM
    /// loads it only on first use, so /sys/module alone says no). Containers (LXC, nspawn) see none of their own.
    static func kernelHasWireGuard(_ host: WGHost) -> Bool {
        if host.fileExists("/sys/module/wireguard") { return true }
        guard let release = (try? host.readText("/proc/sys/kernel/osrelease"))?.wgTrimmed(), !release.isEmpty,
              !release.contains("/") else { return false }
        let dir = "/lib/modules/\(release)"
        if (try? host.readText(dir + "/modules.builtin"))?.contains("/wireguard.ko") == true { return true }
        return ["", ".xz", ".zst", ".gz"].contains { host.fileExists(dir + "/kernel/drivers/net/wireguard/wireguard.ko" + $0) }
    }

    /// DMI names QEMU (and Proxmox, which is QEMU) in sys_vendor / product_name / bios_vendor.
    static func detectVirtualization(_ host: WGHost) -> String {
        let fields = ["sys_vendor", "product_name", "bios_vendor", "chassis_vendor"].compactMap {
            (try? host.readText("/sys/class/dmi/id/" + $0))?.lowercased()
        }
        if fields.contains(where: { $0.contains("qemu") || $0.contains("proxmox") || $0.contains("kvm") }) { return "qemu" }
        return "none"
    }

    static func readEgress(_ host: WGHost) -> (String?, [String]) {
        if let r = WGFileFacts.routes(host) { return r }
        guard let route = try? host.run(["ip", "-4", "route", "show", "default"]), route.succeeded else { return (nil, []) }
        var dev: String?
        for line in route.stdout.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            if let i = words.firstIndex(of: "dev"), i + 1 < words.count { dev = words[i + 1]; break }
        }
        guard let dev else { return (nil, []) }
        var subnets: [String] = []
        if let link = try? host.run(["ip", "-4", "route", "show", "dev", dev, "scope", "link"]), link.succeeded {
            for line in link.stdout.split(separator: "\n") {
                if let first = line.split(separator: " ").first, first.contains("/") { subnets.append(String(first)) }
            }
        }
        return (dev, subnets)
    }

    static func readSSHPort(_ host: WGHost) -> Int {
        guard let text = try? host.readText("/etc/ssh/sshd_config") else { return 22 }
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count >= 2, words[0].lowercased() == "port", let p = Int(words[1]), (1...65535).contains(p) { return p }
        }
        return 22
    }
}

extension WGFacts {
    /// The egress interface for NAT `PostUp` lines and ufw rules, checked first: a name read from the machine
    /// goes into a line wg-quick runs through a shell. nil when there is no default route; throws for a bad name.
    public func checkedEgressInterface() throws -> String? {
        guard let egress = egressInterface else { return nil }
        if let problem = WGInterfaceName.problem(egress) {
            throw WGResourceError.unsafeEgressName(name: egress, problem: problem)
        }
        return egress
    }
}
