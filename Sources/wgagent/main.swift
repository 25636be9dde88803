print("wgagent")
