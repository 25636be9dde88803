import WGModel
import WGProvision

/// The apply that `apply` and `enroll` share: profile + values -> spec -> the resources this machine needs.
public enum WGAgentApply {
    /// The standard resources, plus the reporter service once this machine is enrolled.
    public static func resources(host: WGHost) -> [WGResource] {
        WGApplier.standardResources + (WGEnrollmentStore.exists(host) ? [WGReporterServiceResource()] : [])
    }

    public static func applier(host: WGHost, facts: WGFacts, files: WGFileSource, profile: WGProfile,
                               base: (source: String, values: [String])? = nil,
                               varsFiles: [(name: String, text: String)] = [], values: [String],
                               resources: [WGResource]? = nil) throws -> WGApplier {
        let variables = try WGVariables.resolve(profile: profile, base: base, varsFiles: varsFiles, vars: values)
        let spec = try WGSpec.build(profile: profile, variables: variables)
        let context = WGContext(host: host, facts: facts, spec: spec, files: files)
        return WGApplier(context: context, resources: resources ?? Self.resources(host: host))
    }
}
