/// A distribution as data: package manager, names and argv, admin group, shell. Adding a distribution
/// means adding a row here, not `switch` statements across resources.
public struct WGPlatform: Sendable, Equatable {
    public var name: String
    public var packageManager: WGPackageManager
    public var users: WGUserTools
    /// Logical package -> the distribution's package name.
    public var packageNames: [String: String]
    public var adminGroup: String
    public var adminShell: String
    /// Debian 10 has wireguard-tools only in buster-backports.
    public var backports: WGBackports?
    /// Alpine keeps ufw (and wireguard-go) in the community repository: the file that lists repositories.
    public var communityRepositoryFile: String?

    public func package(_ logical: String) -> String { packageNames[logical] ?? logical }

    public func installArgv(_ packages: [String]) -> [String] {
        var argv = packageManager.install
        if let backports, let option = packageManager.suiteOption { argv += option + [backports.suite] }
        return argv + packages
    }

    public var repairArgv: [String]? { packageManager.repair }
    public var refreshArgv: [String] { packageManager.refresh }

    /// argv that prints the installed packages among `packages`, parsed by `installedPackages(from:)`.
    public func queryArgv(_ packages: [String]) -> [String] { packageManager.query + packages }

    public func installedPackages(from output: String) -> Set<String> { packageManager.installed(fromQuery: output) }

    /// argv lists that create the admin user in its own group, in the admin group, password locked.
    public func createUserArgv(_ user: String, groupExists: Bool) -> [[String]] {
        (groupExists ? users.createInExistingGroup : users.createWithOwnGroup)
            .map { WGArgvTemplate.fill($0, ["user": user, "shell": adminShell, "admin": adminGroup]) }
    }

    public func addToGroupArgv(_ user: String, group: String) -> [String] {
        WGArgvTemplate.fill(users.addToGroup, ["user": user, "group": group])
    }

    public func lockPasswordArgv(_ user: String) -> [String] {
        WGArgvTemplate.fill(users.lockPassword, ["user": user])
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
        name: "debian", packageManager: .apt, users: .shadow, packageNames: aptNames, adminGroup: "sudo",
        adminShell: "/bin/bash", backports: nil, communityRepositoryFile: nil)

    /// Debian 10 (buster) is archived: its backports live on archive.debian.org.
    public static let debianBuster = WGPlatform(
        name: "debian", packageManager: .apt, users: .shadow, packageNames: aptNames, adminGroup: "sudo",
        adminShell: "/bin/bash", backports: WGBackports(
            suite: "buster-backports",
            sourcesPath: "/etc/apt/sources.list.d/buster-backports.list",
            sourcesLine: "deb http://archive.debian.org/debian buster-backports main"),
        communityRepositoryFile: nil)

    public static let ubuntu = WGPlatform(
        name: "ubuntu", packageManager: .apt, users: .shadow, packageNames: aptNames, adminGroup: "sudo",
        adminShell: "/bin/bash", backports: nil, communityRepositoryFile: nil)

    public static let alpine = WGPlatform(
        name: "alpine", packageManager: .apk, users: .busybox,
        packageNames: ["wireguard-tools": "wireguard-tools", "wireguard-go": "wireguard-go", "ufw": "ufw",
                       "sudo": "sudo", "procps": "procps", "iproute2": "iproute2", "iptables": "iptables",
                       "qemu-guest-agent": "qemu-guest-agent"],
        adminGroup: "wheel", adminShell: "/bin/ash", backports: nil, communityRepositoryFile: "/etc/apk/repositories")

    /// The row for an os-release, or an error naming what is supported.
    public static func forRelease(_ os: WGOSRelease) throws -> WGPlatform {
        switch os.id {
        case "debian":
            if os.majorVersion == 10 { return .debianBuster }
            if os.majorVersion != 0 && os.majorVersion < 10 {
                throw WGPlatformError.tooOld(distribution: "Debian", version: os.versionID, supported: "Debian 10 to 13")
            }
            return .debian
        case "ubuntu": return .ubuntu
        case "alpine": return .alpine
        default:
            if os.idLike.contains("debian") { return .debian }
            throw WGPlatformError.unsupported(prettyName: os.prettyName, id: os.id, supported: "Alpine, Debian 10–13 and Ubuntu")
        }
    }
}
