import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGAgent
import WGProvision

/// The options `apply` and `plan` share.
struct ProvisionOptions: ParsableArguments {
    @Option(name: .long, help: "Profile name (hub, site-gateway, roadwarrior) or path to a profile .yaml file.")
    var profile: String

    @Option(name: .customLong("var"), help: ArgumentHelp("A profile value, key=value (repeatable).", valueName: "key=value"))
    var vars: [String] = []

    @Option(name: .customLong("vars"), help: ArgumentHelp("A YAML file of profile values (repeatable; --var wins).", valueName: "file"))
    var varsFiles: [String] = []

    @Option(name: .long, help: "Manage the system rooted here (a chroot or image) instead of /.")
    var root: String = "/"

    @Flag(name: .long, help: "Print one JSON report on stdout instead of the human summary.")
    var json = false

    @Option(name: .long, help: "Read templates from this directory first (default: the embedded ones).")
    var templates: String?

    @Option(name: .customLong("profiles"), help: "Read profiles from this directory first (default: the embedded ones).")
    var profilesDirectory: String?

    var fileSource: WGFileSource { WGFileSource(templatesDirectory: templates, profilesDirectory: profilesDirectory) }

    /// Loads and checks everything that can be checked before touching the machine; also the enrollment, if any.
    func makeApplier() throws -> (WGApplier, WGEnrollment?) {
        let source = fileSource
        let profile = try source.loadProfile(profile)
        let files = try varsFiles.map { path -> (name: String, text: String) in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("cannot read --vars file \(path)")
            }
            return (path, text)
        }
        let host = WGLocalHost(root: root)
        let facts = try WGFacts.gather(host)
        // An enrolled machine applying its enrolled profile starts from the hub's values and enroll's --var
        // values; --vars files and --var given here still win.
        let enrollment = try? WGEnrollmentStore.load(host)
        var base: (source: String, values: [String])?
        if let e = enrollment, e.profile == profile.name {
            base = ("enrollment \(WGEnrollmentStore.path)", WGEnroller.applyValues(e, profile: profile))
        }
        let applier = try WGAgentApply.applier(host: host, facts: facts, files: source, profile: profile, base: base,
                                               varsFiles: files, values: vars)
        return (applier, enrollment)
    }

    func execute(dryRun: Bool) throws {
        let applier: WGApplier, enrollment: WGEnrollment?
        do { (applier, enrollment) = try makeApplier() } catch {
            WGOutput.error("\(error)")
            throw ExitCode(2)
        }
        let facts = applier.context.facts
        if !json { WGOutput.header(applier.context.spec, facts, dryRun: dryRun) }
        applier.progress = { WGOutput.progress($0) }
        let report = applier.run(dryRun: dryRun)
        if json {
            WGOutput.printJSON(report)
        } else {
            WGOutput.summary(report)
        }
        if !report.converged { throw ExitCode(1) }
        // Once after enrollment: a converged, enrolled machine whose profile expects inbound connections and
        // that has no port-forward verdict yet (none saved in /var/lib/wgagent/port-check.json) gets one now.
        let host = applier.context.host
        if !dryRun, !json, host.root == "/", let enrollment, WGPortCheckStore.load(host) == nil {
            PortCheckOnce.run(host: host, enrollment: enrollment, spec: applier.context.spec)
        }
    }
}
