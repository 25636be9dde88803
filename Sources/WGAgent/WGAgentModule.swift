import WGModel
// Placeholder: the agent HTTPS client and enrollment come with issue 4.
public enum WGAgentModule {}
