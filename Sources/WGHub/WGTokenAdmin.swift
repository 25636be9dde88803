import Foundation
import WGModel

/// What a new enrollment token is for: `wghub token create`'s options, the body of `POST /v1/tokens` and the
/// browser's "Create token" form. All three go through `WGTokenAdmin.create`.
public struct WGTokenRequest: Codable, Sendable, Equatable {
    public var name: String?
    public var profile: String?
    /// A duration like 90s, 15m, 24h, 7d (default 24h).
    public var ttl: String?
    public var uses: Int?
    /// LAN prefixes a site enrolling with it may have routed.
    public var lan: [String]?
    /// Profile values for the enrolling agent, `key=value`.
    public var vars: [String]?

    public init(name: String? = nil, profile: String? = nil, ttl: String? = nil, uses: Int? = nil, lan: [String]? = nil, vars: [String]? = nil) {
        self.name = name
        self.profile = profile
        self.ttl = ttl
        self.uses = uses
        self.lan = lan
        self.vars = vars
    }
}

/// A token just made, as the admin API and the browser show it (once: the secret is not kept).
public struct WGIssuedToken: Codable, Sendable {
    public var id: String
    public var token: String
    public var summary: String
    public var enrollArgv: [String]
    /// The argv as one line to paste into a POSIX shell (values quoted where needed: see `WGText.shellQuoted`).
    public var enroll: String
    /// `#cloud-config` for a stock image (the hub serves the agent over its pinned TLS), else for an image that carries it.
    public var userData: String
    /// "stock-image" or "agent-present".
    public var userDataForm: String
    /// Why the stock-image form could not be made (no agent served, no HTTPS), when it could not.
    public var stockImageProblem: String?

    enum CodingKeys: String, CodingKey {
        case id, token, summary, enroll
        case enrollArgv = "enroll_argv"
        case userData = "user_data"
        case userDataForm = "user_data_form"
        case stockImageProblem = "stock_image_problem"
    }

    public init(_ made: WGEnrollInstructions) throws {
        id = made.tokenID
        token = made.token
        summary = made.summary
        enrollArgv = made.enrollArgv()
        enroll = WGText.shellLine(enrollArgv)
        stockImageProblem = WGEnrollInstructions.bootstrapProblem(hubURL: made.hubURL, pin: made.pin, agent: made.agent)
        userDataForm = stockImageProblem == nil ? "stock-image" : "agent-present"
        userData = try made.userData(agentPresent: stockImageProblem != nil)
    }
}

/// A token as `GET /v1/tokens` and the browser list it: never the secret.
public struct WGTokenListing: Codable, Sendable, Equatable {
    public var id: String
    public var kind: String
    public var state: String
    public var name: String?
    public var profile: String?
    public var uses: Int
    public var maxUses: Int?
    public var createdAt: Date
    public var expiresAt: Date?
    public var lanGrants: [String]

    enum CodingKeys: String, CodingKey {
        case id, kind, state, name, profile, uses
        case maxUses = "max_uses"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case lanGrants = "lan_grants"
    }

    public init(_ t: WGTokenInfo, now: Date) {
        id = t.id
        kind = t.kind.rawValue
        state = t.state(now: now)
        name = t.name
        profile = t.profile
        uses = t.uses
        maxUses = t.maxUses
        createdAt = t.createdAt
        expiresAt = t.expiresAt
        lanGrants = t.lanGrants
    }
}

/// Token operations, the same for the CLI, the admin API and the browser. Synchronous (store and data folder):
/// request paths run them through `WGBlockingWork`.
public enum WGTokenAdmin {
    public static let maxUses = 10_000
    public static let maxTTL: TimeInterval = 366 * 86400

    /// Checks every field (the refusal names it and the way out), then creates the token.
    public static func create(
        _ r: WGTokenRequest, store: WGHubStore, dataDirectory: String, policy: WGLANPolicy, hubURL: String? = nil, now: Date = Date()
    ) throws -> WGEnrollInstructions {
        let ttlText = r.ttl.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } ?? "24h"
        guard let ttl = WGDurations.parse(ttlText), ttl > 0, ttl <= maxTTL else {
            throw WGHubError.invalid("ttl", "\"\(ttlText.prefix(20))\" is not a duration like 90s, 15m, 24h or 7d (at most 366d)")
        }
        let uses = r.uses ?? 1
        guard (1...maxUses).contains(uses) else { throw WGHubError.invalid("uses", "from 1 to \(maxUses)") }
        let name = try label(r.name, field: "name")
        let profile = try label(r.profile, field: "profile")
        if let profile, !profile.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) || profile.count > 40 {
            throw WGHubError.invalid("profile", "a profile name (letters, digits, - and _), e.g. site-gateway; see `wgagent profiles`")
        }
        let lan = (r.lan ?? []).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard lan.count <= 16 else { throw WGHubError.invalid("lan", "at most 16 prefixes") }
        let grants = try lan.map(policy.checkGrant)
        let vars = (r.vars ?? []).filter { !$0.isEmpty }
        guard vars.count <= 32 else { throw WGHubError.invalid("vars", "at most 32 values") }
        // checkVar's words name the value (`--var "x": …`), as the CLI and the form both take it.
        for v in vars { if let problem = WGEnrollInstructions.checkVar(v) { throw WGHubError(400, "invalid_field", problem, field: "vars") } }
        var made = try WGEnrollInstructions.issue(
            store: store, dataDirectory: dataDirectory, name: name, profile: profile, ttl: ttl, uses: uses, lanGrants: grants,
            hubURL: hubURL, now: now)
        made.vars = vars
        return made
    }

    /// Enrollment tokens (and admin tokens with `all`), oldest first.
    public static func list(store: WGHubStore, all: Bool, now: Date = Date()) throws -> [WGTokenListing] {
        try store.tokens().filter { all || $0.kind == .enroll }.map { WGTokenListing($0, now: now) }
    }

    /// Revokes a token by id; the refusal says where the ids are.
    public static func revoke(store: WGHubStore, id: String) throws {
        guard id.count <= 64, try store.revokeToken(id: id) else {
            throw WGHubError(404, "token_unknown_id", "no token \(id.prefix(64)): see `wghub token list --all` or GET /v1/tokens?all=1")
        }
    }

    /// An optional one-line label of at most 64 characters (empty = none).
    static func label(_ s: String?, field: String) throws -> String? {
        guard let t = s?.trimmingCharacters(in: .whitespaces), !t.isEmpty else { return nil }
        guard t.count <= 64, !t.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 32 || $0 == 127 } == true }) else {
            throw WGHubError.invalid(field, "one line of at most 64 characters")
        }
        return t
    }
}
