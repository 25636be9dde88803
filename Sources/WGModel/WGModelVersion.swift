// Placeholder: replaced by the model work.
public enum WGModelVersion { public static let agentVersion = "0.1.0" }
