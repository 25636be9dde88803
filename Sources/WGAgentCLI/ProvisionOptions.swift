import ArgumentParser
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

    func execute(dryRun: Bool, _ ctx: WGAgentCLIContext) throws {
        let host = ctx.host(root)
        var flow = WGApplyFlow(host: host, files: fileSource,
                               options: .init(profile: profile, vars: vars, varsFiles: varsFiles, json: json, dryRun: dryRun),
                               output: ctx.output)
        flow.portCheck = ctx.portCheck
        flow.resources = ctx.resources?(host)
        let status = flow.run()
        if status != 0 { throw ExitCode(status) }
    }
}
