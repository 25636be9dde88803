#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel

/// Plans each resource against the machine as it is *at that moment* and, unless it is a dry run, carries
/// out the changes before planning the next one. So a re-run after an interruption simply finds what is
/// left to do, and a later resource sees the packages an earlier one installed.
public final class WGApplier {
    public let context: WGContext
    public let resources: [WGResource]
    /// Progress lines for people: what is being done, and the package manager's output as it comes.
    public var progress: (String) -> Void = { _ in }

    public init(context: WGContext, resources: [WGResource]) {
        self.context = context
        self.resources = resources
    }

    /// The resources every role converges, in the order they depend on each other.
    public static let standardResources: [WGResource] = [
        WGPackagesResource(), WGGuestAgentResource(), WGAdminUserResource(), WGSysctlResource(), WGKeysResource(),
        WGInterfaceConfigResource(), WGFirewallResource(), WGInitServiceResource.tunnel,
    ]

    public func run(dryRun: Bool) -> WGRunReport {
        var outcomes: [WGResourceOutcome] = []
        var stopped: String?
        for resource in resources {
            if let stopped {
                outcomes.append(WGResourceOutcome(name: resource.name, status: .skipped,
                                                  reason: "not reached: \(stopped) failed first", changes: []))
                continue
            }
            let outcome = converge(resource, dryRun: dryRun)
            if outcome.status == .failed { stopped = resource.name }
            outcomes.append(outcome)
        }
        return WGRunReport(dryRun: dryRun, resources: outcomes)
    }

    func converge(_ resource: WGResource, dryRun: Bool) -> WGResourceOutcome {
        let plan: WGResourcePlan
        do { plan = try resource.plan(context) } catch {
            return WGResourceOutcome(name: resource.name, status: .failed, reason: "cannot read its state", changes: [], error: "\(error)")
        }
        if plan.isOK { return WGResourceOutcome(name: resource.name, status: .ok, reason: plan.reason, changes: []) }
        if dryRun {
            context.pendingResources.insert(resource.name)
            return WGResourceOutcome(name: resource.name, status: .pending, reason: plan.reason, changes: plan.changes)
        }
        var done: [WGChange] = []
        for change in plan.changes {
            progress("\(resource.name): \(change.summary)")
            do {
                try execute(change)
                done.append(change)
            } catch {
                context.changedResources.insert(resource.name)
                let left = plan.changes.count - done.count
                return WGResourceOutcome(name: resource.name, status: .failed,
                                         reason: "\(done.count) of \(plan.changes.count) changes made; \(left) left, starting with: \(change.summary)",
                                         changes: done, error: "\(error)")
            }
        }
        context.changedResources.insert(resource.name)
        // Check that it converged: a change that "succeeded" but left the state different is a failure.
        do {
            let after = try resource.plan(context)
            if !after.isOK {
                return WGResourceOutcome(name: resource.name, status: .failed, reason: plan.reason, changes: done,
                                         error: "still differs after applying: " + after.changes.map(\.summary).joined(separator: "; "))
            }
        } catch {
            return WGResourceOutcome(name: resource.name, status: .failed, reason: plan.reason, changes: done, error: "cannot re-read its state: \(error)")
        }
        return WGResourceOutcome(name: resource.name, status: .changed, reason: plan.reason, changes: done)
    }

    /// What wgagent wrote before: read once per run, updated as files are written.
    private lazy var state = WGState(host: context.host)

    func execute(_ change: WGChange) throws {
        let host = context.host
        switch change.action {
        case .run(let argv):
            try check(host.run(argv, input: nil, onLine: lineProgress), argv)
        case .install(let argv, let refresh, let repair):
            let first = try host.run(argv, input: nil, onLine: lineProgress)
            if first.succeeded { return }
            // An earlier run killed during dpkg leaves it half configured: finish that first.
            if let repair, (first.stdout + first.stderr).contains(repair.joined(separator: " ")) {
                progress("finishing an interrupted package run: \(repair.joined(separator: " "))")
                try check(host.run(repair, input: nil, onLine: lineProgress), repair)
            }
            // A fresh VM often has no (or an old) package index: refresh once and try again.
            progress("refreshing the package index and retrying")
            _ = try host.run(refresh, input: nil, onLine: lineProgress)
            try check(host.run(argv, input: nil, onLine: lineProgress), argv)
        case .writeFile(let path, let contents, let mode):
            if let backup = try state.backupIfForeign(path) { progress("kept a copy of the previous \(path) in \(backup)") }
            try host.writeFileAtomically(path, contents: contents, permissions: mode)
            try state.recordWrite(path, contents: contents)
        case .makeDirectory(let path, let mode):
            try host.makeDirectory(path, permissions: mode)
        case .setPermissions(let path, let mode):
            try host.setPermissions(path, mode)
        case .symlink(let path, let target):
            try host.makeSymlink(path, target: target)
        case .generateKey(let privatePath, let publicPath):
            // Re-checked at the last moment: a key that appeared meanwhile is never overwritten.
            if host.fileExists(privatePath) { throw WGResourceError.keyAppeared(path: privatePath) }
            let key = WGKey.generatePrivate()
            try host.writeFileAtomically(privatePath, contents: Data((key.base64 + "\n").utf8), permissions: 0o600)
            try host.writeFileAtomically(publicPath, contents: Data((key.publicKey.base64 + "\n").utf8), permissions: 0o644)
        case .derivePublicKey(let privatePath, let publicPath):
            guard let key = try WGKeysResource.existingPrivateKey(host, interface: interfaceName(privatePath)) else {
                throw WGResourceError.keyGone(path: privatePath)
            }
            try host.writeFileAtomically(publicPath, contents: Data((key.publicKey.base64 + "\n").utf8), permissions: 0o644)
        }
    }

    private func interfaceName(_ privatePath: String) -> String {
        String(WGPath.lastComponent(privatePath).dropLast(".key".count))
    }

    private func lineProgress(_ line: String) {
        let l = line.wgTrimmed(.whitespaces)
        if !l.isEmpty { progress("  " + l) }
    }

    private func check(_ result: WGCommandResult, _ argv: [String]) throws {
        guard result.succeeded else {
            throw WGCommandError.failed(argv: argv, status: result.status,
                                        stderr: result.stderr.isEmpty ? result.stdout : result.stderr)
        }
    }
}
