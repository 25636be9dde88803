/// The role a profile plays; each role turns variables into a desired state in `WGSpec`.
public enum WGRole: String, Sendable, CaseIterable, Codable {
    case hub
    case siteGateway = "site-gateway"
    case roadwarrior
}
