import Foundation
import PackagePlugin

/// Embeds Templates/ and Profiles/ into the target as Swift string literals, so the binary runs
/// with nothing beside it. Re-runs whenever one of those files changes.
@main
struct WGEmbedPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        var inputs: [URL] = []
        for folder in ["Templates", "Profiles"] {
            let dir = root.appending(path: folder)
            guard let walker = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey]) else { continue }
            for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                inputs.append(url)
            }
        }
        inputs.sort { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "WGEmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) template and profile files",
                executable: try context.tool(named: "WGEmbedTool").url,
                arguments: [root.path, output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
