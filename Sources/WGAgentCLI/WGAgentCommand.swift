import ArgumentParser
import WGModel

public struct WGAgentCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "wgagent",
        abstract: "Turns a fresh Alpine or Debian VM into a monitored WireGuard appliance.",
        version: WGModelVersion.agentVersion,
        subcommands: [ApplyCommand.self, PlanCommand.self, EnrollCommand.self, ReportCommand.self, CheckPortCommand.self, StatusCommand.self, DoctorCommand.self, ProfilesCommand.self, KeygenCommand.self, PubkeyCommand.self]
    )

    public init() {}
}
