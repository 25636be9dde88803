import WGModel
// Placeholder: the coordinator comes with issue 3.
public enum WGHubModule {}
