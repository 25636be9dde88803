import WGAgentCLI

WGAgentCommand.main()
