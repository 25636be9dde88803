import WGModel

/// Why enrollment stopped, with what to do about it. Transport and TLS refusals come as `WGHTTPClientError`.
public enum WGEnrollError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The hub answered 401/403 to the token.
    case tokenRefused(status: Int, reason: String, message: String, hub: String)
    /// The hub refused the request for another reason (a field, the pool, the rate limit).
    case hubRefused(status: Int, reason: String, message: String, hub: String)
    /// The hub's answer holds a value this agent cannot use.
    case badAnswer(field: String, value: String, detail: String)
    /// The hub's answer holds a value this agent does not trust (it would route, masquerade or break too much).
    case untrustedAnswer(field: String, value: String, rule: String, hub: String)
    /// `--var NAME=…` for a value only the hub decides.
    case hubOwnedVariable(String)
    /// The keys resource did not converge.
    case keys(String)

    public var description: String {
        switch self {
        case .tokenRefused(let status, let reason, let message, let hub):
            // The hub's own message usually names the fix already; only the last step is added then.
            if message.contains("wghub token create") {
                return "the hub \(hub) refused the token (\(status) \(reason)): \(message) on the hub, then run enroll again with it"
            }
            return "the hub \(hub) refused the token (\(status) \(reason)): \(message). "
                + "On the hub, create a new one (`wghub token create --profile site-gateway`) and run enroll again with it"
        case .hubRefused(let status, let reason, let message, let hub):
            return "the hub \(hub) refused the enrollment (\(status) \(reason)): \(message)"
        case .badAnswer(let field, let value, let detail):
            return "the hub's answer has \(field) \"\(value)\", which this agent cannot use (\(detail)): are agent and hub versions compatible?"
        case .untrustedAnswer(let field, let value, let rule, let hub):
            return "refusing the answer of the hub \(hub): \(field) \"\(value)\" \(rule). Nothing was saved or applied (but this machine's key); "
                + "check the hub's settings (`wghub serve --pool/--endpoint/--keepalive`) and that this URL and pin are your hub's"
        case .hubOwnedVariable(let name):
            return "--var \(name)=… cannot be given to enroll: the hub decides \(name). Leave it out (other values such as lan_access, lan_subnets, hub_endpoint may be given)"
        case .keys(let detail):
            return "could not set up this machine's WireGuard key: \(detail)"
        }
    }
}

extension WGEnrollError {
    /// `wgagent enroll`'s exit status for an error that stopped enrollment: 4 when the hub could not be reached
    /// (a first-boot hook may retry), 2 for every refusal (URL, pin, certificate, token, the hub's answer, input).
    public static func exitStatus(for error: any Error) -> Int32 {
        if let e = error as? WGHTTPClientError, e.isUnreachable { return 4 }
        return 2
    }
}
