#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// `wgagent apply` and `plan`: load and check everything that can be checked before touching the machine,
/// converge (or only plan), report, and check the port forward once after enrollment.
public struct WGApplyFlow {
    /// What apply was asked (its command-line options).
    public struct Options: Sendable {
        /// A profile name or a .yaml path.
        public var profile: String
        public var vars: [String] = []
        /// --vars files, read from this process's file system (not from the managed root).
        public var varsFiles: [String] = []
        public var json = false
        public var dryRun = false

        public init(profile: String, vars: [String] = [], varsFiles: [String] = [], json: Bool = false, dryRun: Bool = false) {
            self.profile = profile
            self.vars = vars
            self.varsFiles = varsFiles
            self.json = json
            self.dryRun = dryRun
        }
    }

    struct VarsFileError: Error, CustomStringConvertible { let description: String }

    public let host: WGHost
    public let files: WGFileSource
    public let options: Options
    public let output: WGOutput
    /// The port-forward check after an enrolled machine converged.
    public var portCheck: WGPortCheckRunner = WGPortChecker.live
    /// The resources converged (nil: the standard ones for this machine).
    public var resources: [WGResource]?

    public init(host: WGHost, files: WGFileSource, options: Options, output: WGOutput) {
        self.host = host
        self.files = files
        self.options = options
        self.output = output
    }

    /// Loads and checks everything that can be checked before touching the machine; also the enrollment, if any.
    public func makeApplier() throws -> (WGApplier, WGEnrollment?) {
        let profile = try files.loadProfile(options.profile)
        let varsFiles = try options.varsFiles.map { path -> (name: String, text: String) in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw VarsFileError(description: "cannot read --vars file \(path)")
            }
            return (path, text)
        }
        let facts = try WGFacts.gather(host)
        // An enrolled machine applying its enrolled profile starts from the hub's values and enroll's --var
        // values; --vars files and --var given here still win.
        let enrollment = try? WGEnrollmentStore.load(host)
        var base: (source: String, values: [String])?
        if let e = enrollment, e.profile == profile.name {
            base = ("enrollment \(WGEnrollmentStore.path)", WGEnroller.applyValues(e, profile: profile))
        }
        let applier = try WGAgentApply.applier(host: host, facts: facts, files: files, profile: profile, base: base,
                                               varsFiles: varsFiles, values: options.vars, resources: resources)
        return (applier, enrollment)
    }

    /// The exit status: 0 converged (or planned), 1 not converged, 2 nothing could be started.
    public func run() -> Int32 {
        let applier: WGApplier, enrollment: WGEnrollment?
        do { (applier, enrollment) = try makeApplier() } catch {
            output.error("\(error)")
            return 2
        }
        let dryRun = options.dryRun, json = options.json
        let facts = applier.context.facts
        if !json { output.header(applier.context.spec, facts, dryRun: dryRun) }
        applier.progress = { output.progress($0) }
        let report = applier.run(dryRun: dryRun)
        if json {
            output.printJSON(report)
        } else {
            output.summary(report)
        }
        if !report.converged { return 1 }
        // Once after enrollment: a converged, enrolled machine whose profile expects inbound connections and
        // that has no port-forward verdict yet (none saved in /var/lib/wgagent/port-check.json) gets one now.
        if !dryRun, !json, host.root == "/", let enrollment, WGPortCheckStore.load(host) == nil {
            WGPortCheckOnce.run(host: host, enrollment: enrollment, spec: applier.context.spec, output: output, check: portCheck)
        }
        return 0
    }
}
