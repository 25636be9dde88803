import ArgumentParser
import WGProvision

struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List the profiles, or show one.",
        subcommands: [ListProfiles.self, ShowProfile.self],
        defaultSubcommand: ListProfiles.self
    )

    struct ListProfiles: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the profiles with their variables.")
        @Option(name: .customLong("profiles"), help: "Read profiles from this directory too.") var directory: String?

        func run() throws {
            let source = WGFileSource(profilesDirectory: directory)
            for name in source.profileNames() {
                do {
                    let p = try source.loadProfile(name)
                    let vars = p.variables.map { $0.required ? $0.name + "*" : $0.name }.joined(separator: " ")
                    print("\(name.wgPadded(14)) \(p.summary)")
                    print("\("".wgPadded(14)) variables: \(vars)  (* required)")
                } catch {
                    print("\(name.wgPadded(14)) BROKEN: \(error)")
                }
            }
        }
    }

    struct ShowProfile: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a profile file.")
        @Argument(help: "Profile name or path.") var name: String
        @Option(name: .customLong("profiles"), help: "Read profiles from this directory first.") var directory: String?

        func run() throws {
            do {
                print(try WGFileSource(profilesDirectory: directory).loadProfile(name).text, terminator: "")
            } catch {
                WGOutput.error("\(error)")
                throw ExitCode(2)
            }
        }
    }
}
