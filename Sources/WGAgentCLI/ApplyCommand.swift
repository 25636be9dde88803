import ArgumentParser

struct ApplyCommand: WGAgentRunnable {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Converge this machine to a profile: packages, admin user, sysctl, keys, wg0.conf, firewall, service.",
        discussion: "Idempotent: a second run changes nothing. An interrupted run converges when run again. Exit 0 when converged."
    )

    @OptionGroup var options: ProvisionOptions

    @Flag(name: .customLong("dry-run"), help: "Show what would change (files as diffs, commands as argv) and change nothing.")
    var dryRun = false

    func run(_ ctx: WGAgentCLIContext) throws { try options.execute(dryRun: dryRun, ctx) }
}

struct PlanCommand: WGAgentRunnable {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change (the same as apply --dry-run)."
    )

    @OptionGroup var options: ProvisionOptions

    func run(_ ctx: WGAgentCLIContext) throws { try options.execute(dryRun: true, ctx) }
}
