import ArgumentParser
import WGAgent
import WGProvision

struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List the profiles, or show one.",
        subcommands: [ListProfiles.self, ShowProfile.self],
        defaultSubcommand: ListProfiles.self
    )

    struct ListProfiles: WGAgentRunnable {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the profiles with their variables.")
        @Option(name: .customLong("profiles"), help: "Read profiles from this directory too.") var directory: String?

        func run(_ ctx: WGAgentCLIContext) throws {
            let source = WGFileSource(profilesDirectory: directory)
            for name in source.profileNames() {
                do {
                    let p = try source.loadProfile(name)
                    let vars = p.variables.map { $0.required ? $0.name + "*" : $0.name }.joined(separator: " ")
                    ctx.output.line("\(name.wgPadded(14)) \(p.summary)")
                    ctx.output.line("\("".wgPadded(14)) variables: \(vars)  (* required)")
                } catch {
                    ctx.output.line("\(name.wgPadded(14)) BROKEN: \(error)")
                }
            }
        }
    }

    struct ShowProfile: WGAgentRunnable {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a profile file.")
        @Argument(help: "Profile name or path.") var name: String
        @Option(name: .customLong("profiles"), help: "Read profiles from this directory first.") var directory: String?

        func run(_ ctx: WGAgentCLIContext) throws {
            do {
                ctx.output.text(try WGFileSource(profilesDirectory: directory).loadProfile(name).text)
            } catch {
                ctx.output.error("\(error)")
                throw ExitCode(2)
            }
        }
    }
}
