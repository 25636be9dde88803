import WGHubCLI

await WGHubCommand.launch()
