#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// wireguard-tools and what the other resources need, installed with the distribution's package manager.
/// wireguard-go only where the kernel has no WireGuard (LXC containers, old kernels).
public struct WGPackagesResource: WGResource {
    public let name = "packages"
    public init() {}

    /// Logical package names the spec needs on these facts.
    static func wanted(_ spec: WGSpec, _ facts: WGFacts) -> [String] {
        var wanted = ["wireguard-tools", "iproute2", "iptables", "procps"]
        if !facts.kernelWireGuard { wanted.append("wireguard-go") }
        if spec.firewall { wanted.append("ufw") }
        if spec.adminUser != nil { wanted.append("sudo") }
        return wanted
    }

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        let platform = ctx.facts.platform
        let names = Self.wanted(ctx.spec, ctx.facts).map(platform.package)
        let installed = try WGFileFacts.installedPackages(ctx.host, platform, among: names)
            ?? platform.installedPackages(from: ctx.host.run(platform.queryArgv(names)).stdout)
        let missing = names.filter { !installed.contains($0) }
        guard !missing.isEmpty else { return .ok("installed: \(names.joined(separator: " "))") }

        var changes: [WGChange] = []
        if let bp = platform.backports {
            let current = try ctx.host.readText(bp.sourcesPath) ?? ""
            if !current.contains(bp.sourcesLine) {
                changes += try ctx.fileChanges(bp.sourcesPath, contents: bp.sourcesLine + "\n", permissions: 0o644,
                                               what: "\(bp.suite) source")
                changes.append(WGChange("refresh the package index for \(bp.suite)", .run(platform.refreshArgv)))
            }
        }
        if let file = platform.communityRepositoryFile, let repos = try ctx.host.readText(file),
           let enabled = Self.enableCommunity(repos), enabled != repos {
            changes += try ctx.fileChanges(file, contents: enabled, permissions: 0o644,
                                           what: "apk repositories (community enabled, for ufw)")
            changes.append(WGChange("refresh the package index", .run(platform.refreshArgv)))
        }
        changes.append(WGChange("install \(missing.joined(separator: " "))",
                                .install(argv: platform.installArgv(missing), refresh: platform.refreshArgv, repair: platform.repairArgv)))
        return .change("missing: \(missing.joined(separator: " "))", changes)
    }

    /// /etc/apk/repositories with the community line enabled: uncommented if present, else derived from main.
    static func enableCommunity(_ text: String) -> String? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.contains(where: { !$0.hasPrefix("#") && $0.wgTrimmed(.whitespaces).hasSuffix("/community") }) {
            return text
        }
        if let i = lines.firstIndex(where: { $0.hasPrefix("#") && $0.wgTrimmed(.whitespaces).hasSuffix("/community") }) {
            lines[i] = lines[i].drop(while: { $0 == "#" || $0 == " " }).description
            return lines.joined(separator: "\n")
        }
        guard let main = lines.first(where: { !$0.hasPrefix("#") && $0.wgTrimmed(.whitespaces).hasSuffix("/main") }) else {
            return nil
        }
        let community = main.wgTrimmed(.whitespaces).dropLast("main".count) + "community"
        if lines.last == "" { lines.insert(String(community), at: lines.count - 1) } else { lines.append(String(community)) }
        return lines.joined(separator: "\n")
    }
}
