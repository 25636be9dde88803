/// A package manager as data: the argv it takes and the files it keeps. Resources read these fields; adding a
/// package manager is adding a row.
public struct WGPackageManager: Sendable, Equatable {
    /// How a package list reads: what `query` prints, and the database file.
    public enum ListFormat: Sendable, Equatable {
        /// dpkg-query's `${Package}\t${db:Status-Abbrev}` lines ("ii" = installed) / dpkg's status file.
        case dpkg
        /// One installed name per line (`apk info -e`) / apk's `P:` lines in its installed database.
        case apk
    }

    public var name: String
    /// argv before the package names.
    public var install: [String]
    /// argv that refreshes the package index.
    public var refresh: [String]
    /// What finishes a package run that was killed half way ("dpkg was interrupted…"), or nil.
    public var repair: [String]?
    /// argv before the package names; prints the installed ones among them.
    public var query: [String]
    /// The database file read instead of running `query` (a no-op apply spawns nothing).
    public var database: String
    public var format: ListFormat
    /// How a backports suite is asked for on install (`-t SUITE`), where the manager has suites.
    public var suiteOption: [String]?

    public static let apt = WGPackageManager(
        name: "apt",
        // First boot of a cloud VM often has unattended-upgrades holding the dpkg lock: wait for it.
        install: ["apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300",
                  "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"],
        refresh: ["apt-get", "update", "-q"],
        repair: ["dpkg", "--configure", "-a"],
        query: ["dpkg-query", "-W", "-f=${Package}\t${db:Status-Abbrev}\n"],
        database: "/var/lib/dpkg/status", format: .dpkg, suiteOption: ["-t"])

    public static let apk = WGPackageManager(
        name: "apk", install: ["apk", "add", "--no-progress"], refresh: ["apk", "update", "--no-progress"], repair: nil,
        query: ["apk", "info", "-e"], database: "/lib/apk/db/installed", format: .apk, suiteOption: nil)

    /// The installed packages among `wanted`, from `query`'s output.
    public func installed(fromQuery output: String) -> Set<String> {
        var installed = Set<String>()
        for line in output.split(separator: "\n") {
            switch format {
            case .dpkg:
                let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
                if parts.count == 2, parts[1].hasPrefix("ii") { installed.insert(String(parts[0])) }
            case .apk:
                let name = line.wgTrimmed(.whitespaces)
                if !name.isEmpty { installed.insert(name) }
            }
        }
        return installed
    }

    /// The installed packages among `wanted`, from the database file's text (dpkg: want install, state installed).
    public func installed(fromDatabase text: String, among wanted: Set<String>) -> Set<String> {
        var installed = Set<String>()
        switch format {
        case .dpkg:
            var package: Substring?
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.isEmpty { package = nil } else if line.hasPrefix("Package: ") {
                    package = line.dropFirst("Package: ".count)
                } else if line.hasPrefix("Status: "), let p = package, wanted.contains(String(p)) {
                    let words = line.dropFirst("Status: ".count).split(separator: " ")
                    if words.count == 3, words[0] == "install", words[2] == "installed" { installed.insert(String(p)) }
                }
            }
        case .apk:
            for line in text.split(separator: "\n") where line.hasPrefix("P:") {
                let p = String(line.dropFirst(2))
                if wanted.contains(p) { installed.insert(p) }
            }
        }
        return installed
    }
}
