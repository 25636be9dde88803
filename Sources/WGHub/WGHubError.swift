import WGModel

/// A refusal or failure with its HTTP status and the JSON body the client sees.
/// `reason` is the label counted in `wghub_refusals_total{reason=…}`; never carries a secret.
public struct WGHubError: Error, CustomStringConvertible, Sendable {
    public let status: Int
    public let body: WGErrorBody
    /// Seconds for `Retry-After` (429 says 60 without it).
    public var retryAfter: Int?

    public init(_ status: Int, _ error: String, _ message: String, field: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.body = WGErrorBody(error: error, message: message, field: field)
        self.retryAfter = retryAfter
    }

    public var reason: String { body.error }
    public var description: String { "\(status) \(body.error): \(body.message)" }

    // Token refusals (enrollment and admin).
    static let tokenMissing = WGHubError(401, "token_missing", "no token in the request: pass the one printed by `wghub token create`")
    static let tokenUnknown = WGHubError(401, "token_unknown", "this token is not known to the hub: create one with `wghub token create`")
    static let tokenRevoked = WGHubError(403, "token_revoked", "this token was revoked: create a new one with `wghub token create`")
    static let tokenExpired = WGHubError(403, "token_expired", "this token has expired: create a new one with `wghub token create --ttl …`")
    static let tokenUsedUp = WGHubError(403, "token_used_up", "this token has no uses left: create a new one with `wghub token create --uses …`")
    static let adminRequired = WGHubError(401, "admin_token_required", "send `Authorization: Bearer ADMIN_TOKEN` (from `wghub admin-token create`)")
    static let adminRefused = WGHubError(403, "admin_token_refused", "this admin token is unknown, revoked or expired: create one with `wghub admin-token create`")
    static let credentialMissing = WGHubError(401, "credential_missing", "send `Authorization: Bearer CREDENTIAL` (the credential from enrollment)")
    static let credentialRefused = WGHubError(401, "credential_refused", "this credential is not known to the hub: enroll again with a new token")

    static func invalid(_ field: String, _ why: String) -> WGHubError {
        WGHubError(400, "invalid_field", "\(field): \(why)", field: field)
    }
    static func badJSON(_ detail: String) -> WGHubError {
        WGHubError(400, "invalid_json", "the body is not the expected JSON: \(detail)")
    }
    static func tooLarge(_ limit: Int) -> WGHubError {
        WGHubError(413, "body_too_large", "the body is larger than \(limit) bytes")
    }
    static func keyEnrolled(_ id: Int64) -> WGHubError {
        WGHubError(409, "public_key_enrolled",
                   "this public key is already enrolled as site \(id); only that site re-enrolls it, with its credential "
                   + "(`wgagent enroll --reenroll` on that machine). If that machine is gone, an admin deletes site \(id) "
                   + "(`wghub site delete \(id)` or DELETE /v1/sites/\(id)) first, or enroll with a new key", field: "public_key")
    }
    static let agentAuthRequired = WGHubError(
        401, "agent_auth_required",
        "the agent download needs `Authorization: Bearer X`: an enrollment token (from `wghub token create`; no use is spent), a site's credential or the admin token")
    static let agentAuthRefused = WGHubError(
        403, "agent_auth_refused",
        "this bearer is not a usable enrollment token, a site's credential or the admin token: create a token with `wghub token create`")
    static let agentMissing = WGHubError(
        404, "agent_missing",
        "this hub serves no agent binary: start `wghub serve` with --agent-binary FILE (a wgagent built for Linux, one per architecture), or put wgagent beside wghub")
    static let agentDownloadLimited = WGHubError(
        429, "agent_download_rate_limited", "too many agent downloads from this address: wait a minute")
    static let probeLimited = WGHubError(429, "probe_rate_limited", "too many port-forward probes from this site: wait a minute and try again")
    static let authLimited = WGHubError(429, "rate_limited_auth", "too many refused credentials or admin tokens from this address: wait and check the secret")
    static let lockdown = WGHubError(429, "rate_limited_global", "the hub is refusing a flood of bad enrollments: only a valid token is answered now")
    static let poolFull = WGHubError(409, "pool_full", "no free address left in the pool: widen --pool or delete sites that are gone")
    static let rateLimited = WGHubError(429, "rate_limited", "too many failed enrollments from this address: wait and check the token")
    static let notFound = WGHubError(404, "not_found", "no such resource")
}
