import Foundation
import WGModel
@testable import WGProvision
import WGProvisionTesting

/// Plan helpers over the fake machines of WGProvisionTesting.
enum WGFakeMachines {
    static let hubKey = "fNUy3EpaYPKa6R5Cs7aF1xdcrTC44IKCfuOVt+QcPnM="

    static func context(_ host: WGFakeHost, profile: String = "site-gateway", vars: [String] = [], varsFiles: [(String, String)] = []) throws -> WGContext {
        let source = WGFileSource()
        let p = try source.loadProfile(profile)
        var all = vars
        if profile != "hub" && !vars.contains(where: { $0.hasPrefix("hub_endpoint=") }) {
            all = ["address=192.0.2.2/24", "hub_endpoint=203.0.113.1:51820", "hub_public_key=\(hubKey)"] + vars
        }
        let variables = try WGVariables.resolve(profile: p, varsFiles: varsFiles.map { (name: $0.0, text: $0.1) }, vars: all)
        return WGContext(host: host, facts: try WGFacts.gather(host), spec: try WGSpec.build(profile: p, variables: variables), files: source)
    }

    static func plan(_ ctx: WGContext) -> WGRunReport {
        WGApplier(context: ctx, resources: WGApplier.standardResources).run(dryRun: true)
    }
}

extension WGRunReport {
    func resource(_ name: String) -> WGResourceOutcome? { resources.first { $0.name == name } }
    var allArgv: [[String]] { resources.flatMap { $0.changes.compactMap(\.argv) } }
}
