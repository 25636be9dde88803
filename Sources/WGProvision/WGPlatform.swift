/// A distribution as data: package manager, names and argv, admin group, shell. Adding a distribution
/// means adding a row here, not `switch` statements across resources.
public struct WGPlatform: Sendable, Equatable {
    public enum PackageManager: String, Sendable { case apt, apk }

    public var name: String
    public var packageManager: PackageManager
    /// Logical package -> the distribution's package name.
    public var packageNames: [String: String]
    public var adminGroup: String
    public var adminShell: String
    /// Debian 10 has wireguard-tools only in buster-backports.
    public var backports: WGBackports?
    /// Alpine keeps ufw (and wireguard-go) in the community repository.
    public var needsCommunityRepository: Bool

    public func package(_ logical: String) -> String { packageNames[logical] ?? logical }

    public func installArgv(_ packages: [String]) -> [String] {
        switch packageManager {
        case .apt:
            // First boot of a cloud VM often has unattended-upgrades holding the dpkg lock: wait for it.
            var argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300",
                        "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
            if let backports { argv += ["-t", backports.suite] }
            return argv + packages
        case .apk:
            return ["apk", "add", "--no-progress"] + packages
        }
    }

    /// What finishes a package run that was killed half way ("dpkg was interrupted…"), or nil.
    public var repairArgv: [String]? {
        packageManager == .apt ? ["dpkg", "--configure", "-a"] : nil
    }

    public var refreshArgv: [String] {
        switch packageManager {
        case .apt: return ["apt-get", "update", "-q"]
        case .apk: return ["apk", "update", "--no-progress"]
        }
    }

    /// argv that prints the installed packages among `packages`, parsed by `installedPackages(from:)`.
    public func queryArgv(_ packages: [String]) -> [String] {
        switch packageManager {
        case .apt: return ["dpkg-query", "-W", "-f=${Package}\t${db:Status-Abbrev}\n"] + packages
        case .apk: return ["apk", "info", "-e"] + packages
        }
    }

    public func installedPackages(from output: String) -> Set<String> {
        var installed = Set<String>()
        for line in output.split(separator: "\n") {
            switch packageManager {
            case .apt:
                let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
                if parts.count == 2, parts[1].hasPrefix("ii") { installed.insert(String(parts[0])) }
            case .apk:
                let name = line.wgTrimmed(.whitespaces)
                if !name.isEmpty { installed.insert(name) }
            }
        }
        return installed
    }

    /// argv lists that create the admin user in its own group, in the admin group, password locked.
    public func createUserArgv(_ user: String, groupExists: Bool) -> [[String]] {
        switch packageManager {
        case .apt:
            return [["useradd", "--create-home", "--shell", adminShell]
                + (groupExists ? ["--gid", user] : ["--user-group"])
                + ["--groups", adminGroup, user]]
        case .apk:
            return (groupExists ? [] : [["addgroup", user]]) + [
                ["adduser", "-D", "-s", adminShell, "-G", user, user],
                ["adduser", user, adminGroup],
            ]
        }
    }

    public func addToGroupArgv(_ user: String, group: String) -> [String] {
        switch packageManager {
        case .apt: return ["usermod", "-a", "-G", group, user]
        case .apk: return ["adduser", user, group]
        }
    }

    public func lockPasswordArgv(_ user: String) -> [String] {
        ["passwd", "-l", user]
    }
}

public struct WGBackports: Sendable, Equatable {
    public var suite: String        // "buster-backports"
    public var sourcesPath: String  // "/etc/apt/sources.list.d/buster-backports.list"
    public var sourcesLine: String
}

extension WGPlatform {
    static let aptNames: [String: String] = [
        "wireguard-tools": "wireguard-tools", "wireguard-go": "wireguard-go", "ufw": "ufw", "sudo": "sudo",
        "procps": "procps", "iproute2": "iproute2", "iptables": "iptables", "qemu-guest-agent": "qemu-guest-agent",
    ]

    public static let debian = WGPlatform(
        name: "debian", packageManager: .apt, packageNames: aptNames, adminGroup: "sudo", adminShell: "/bin/bash",
        backports: nil, needsCommunityRepository: false)

    /// Debian 10 (buster) is archived: its backports live on archive.debian.org.
    public static let debianBuster = WGPlatform(
        name: "debian", packageManager: .apt, packageNames: aptNames, adminGroup: "sudo", adminShell: "/bin/bash",
        backports: WGBackports(
            suite: "buster-backports",
            sourcesPath: "/etc/apt/sources.list.d/buster-backports.list",
            sourcesLine: "deb http://archive.debian.org/debian buster-backports main"),
        needsCommunityRepository: false)

    public static let ubuntu = WGPlatform(
        name: "ubuntu", packageManager: .apt, packageNames: aptNames, adminGroup: "sudo", adminShell: "/bin/bash",
        backports: nil, needsCommunityRepository: false)

    public static let alpine = WGPlatform(
        name: "alpine", packageManager: .apk,
        packageNames: ["wireguard-tools": "wireguard-tools", "wireguard-go": "wireguard-go", "ufw": "ufw",
                       "sudo": "sudo", "procps": "procps", "iproute2": "iproute2", "iptables": "iptables",
                       "qemu-guest-agent": "qemu-guest-agent"],
        adminGroup: "wheel", adminShell: "/bin/ash", backports: nil, needsCommunityRepository: true)

    /// The row for an os-release, or an error naming what is supported.
    public static func forRelease(_ os: WGOSRelease) throws -> WGPlatform {
        switch os.id {
        case "debian":
            if os.majorVersion == 10 { return .debianBuster }
            if os.majorVersion != 0 && os.majorVersion < 10 {
                throw WGHostError("Debian \(os.versionID) is too old: wgagent supports Debian 10 to 13")
            }
            return .debian
        case "ubuntu": return .ubuntu
        case "alpine": return .alpine
        default:
            if os.idLike.contains("debian") { return .debian }
            throw WGHostError("unsupported distribution \"\(os.prettyName)\" (ID=\(os.id)): wgagent supports Alpine, Debian 10–13 and Ubuntu")
        }
    }
}
