import Foundation
import WGModel

/// How incidents open, damp and get delivered (`wghub serve --alert-…`).
public struct WGAlertSettings: Sendable, Equatable {
    /// A problem must last this long before its incident opens (a shorter blip sends nothing).
    public var grace: TimeInterval = 120
    /// A cleared incident resolves only after staying clear this long; coming back within it is a flap, counted and
    /// said in the "resolved" message, not paged again (0 = resolve at once).
    public var holdDown: TimeInterval = 120
    /// Also open an "offline" incident for a stale site (handshake or report older than --stale-after), not only an
    /// offline one (both older than --offline-after).
    public var onStale = false
    /// How often the evaluator looks at the sites and the outbox.
    public var interval: TimeInterval = 5
    /// Retries: first after `retryBase`, doubling up to `retryMax`, with ±25 % jitter; given up after `maxAttempts`.
    public var retryBase: TimeInterval = 5
    public var retryMax: TimeInterval = 900
    public var maxAttempts: Int = 40
    /// Per delivery: TCP connect, and the whole exchange (TLS, request or SMTP dialogue, answer).
    public var connectTimeout: TimeInterval = 10
    public var totalTimeout: TimeInterval = 30
    /// False (--no-alerts): the hub evaluates no incident and sends nothing; `wghub alert test` still sends.
    public var enabled = true
    /// `--allow-private-receivers`: webhooks on loopback, link-local, unspecified, multicast or the hub's own
    /// addresses are taken through the API and sent to (a receiver added with the CLI flag carries its own leave).
    public var allowPrivateReceivers = false

    public init() {}

    /// The delay before attempt `attempts + 1`, with jitter.
    func backoff(afterAttempts attempts: Int) -> TimeInterval {
        let raw = min(retryMax, retryBase * pow(2, Double(max(0, attempts - 1))))
        return raw * Double.random(in: 0.75...1.25)
    }
}

/// A notification channel. Secrets (HMAC key, SMTP password) are kept in the store apart and never shown.
public struct WGAlertReceiver: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case webhook, smtp }
    public enum Format: String, Sendable, Codable, CaseIterable { case generic, slack, ntfy }

    public var id: String
    public var kind: Kind
    /// Webhook.
    public var url: String?
    public var format: Format?
    /// SMTP.
    public var host: String?
    public var port: Int?
    public var from: String?
    public var to: [String]?
    public var user: String?
    public var starttls: Bool?
    /// PEM file of CA certificates to trust instead of the system's (a self-signed receiver).
    public var caFile: String?
    /// Whether a secret (HMAC key / password) is stored; the secret itself never leaves the store.
    public var hasSecret: Bool?
    public var createdAt: Date?
    /// Added with `--allow-private-receivers`: its webhook may post to a private target (WGReceiverTarget).
    public var allowPrivate: Bool?

    enum CodingKeys: String, CodingKey {
        case id, kind, url, format, host, port, from, to, user, starttls
        case caFile = "ca_file"
        case allowPrivate = "allow_private"
        case hasSecret = "has_secret"
        case createdAt = "created_at"
    }

    public init(id: String = "", kind: Kind) {
        self.id = id
        self.kind = kind
    }

    /// The channel label in /metrics: webhook-generic, webhook-slack, webhook-ntfy, smtp.
    public var channel: String { kind == .smtp ? "smtp" : "webhook-\((format ?? .generic).rawValue)" }

    /// The receiver as the API and the CLI show it: the URL masked (WGReceiverTarget.masked).
    public var shown: WGAlertReceiver {
        var r = self
        r.url = url.map(WGReceiverTarget.masked)
        return r
    }

    /// One line for `wghub alert list` (the URL masked).
    public var summary: String {
        switch kind {
        case .webhook:
            return "webhook \(format ?? .generic) \(shown.url ?? "?")\(hasSecret == true ? " (signed)" : "")\(allowPrivate == true ? " (private target allowed)" : "")"
        case .smtp:
            return "smtp \(host ?? "?"):\(port ?? 25) from \(from ?? "?") to \((to ?? []).joined(separator: ","))"
                + "\(starttls == true ? " starttls" : "")\(user.map { " user \($0)" } ?? "")"
        }
    }

    /// Checks the fields a receiver of its kind needs; the message names the flag. A webhook on a private target
    /// (loopback, link-local, unspecified, multicast, one of `own`) is refused unless `allowPrivate`.
    public func validated(allowPrivate: Bool = false, own: [WGIPAddress] = []) throws -> WGAlertReceiver {
        var r = self
        switch kind {
        case .webhook:
            guard let url, url.count <= 2048, WGText.isPrintable(url), !url.contains(" "), let c = URLComponents(string: url),
                  let scheme = c.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = c.host, !host.isEmpty else {
                throw WGHubError.invalid("url", "a webhook URL is http(s)://HOST[:PORT]/PATH")
            }
            if allowPrivate {
                r.allowPrivate = true
            } else if let why = WGReceiverTarget.problem(host: host, own: own) {
                throw WGHubError.invalid("url", "\(why): the hub would post to itself or a local service; "
                    + "if that is meant, pass --allow-private-receivers (to `wghub alert add`, or to `wghub serve` for the API)")
            }
        case .smtp:
            guard let host, !host.isEmpty, host.utf8.count <= 253, !host.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
                throw WGHubError.invalid("host", "an SMTP server is HOST:PORT")
            }
            guard let port, (1...65535).contains(port) else { throw WGHubError.invalid("port", "1…65535") }
            guard let from, Self.isAddress(from) else { throw WGHubError.invalid("from", "one mail address, e.g. wghub@example.net") }
            guard let to, !to.isEmpty, to.count <= 20, to.allSatisfy(Self.isAddress) else {
                throw WGHubError.invalid("to", "one to 20 mail addresses")
            }
            if let user, user.isEmpty || user.contains(where: { $0.isNewline }) { throw WGHubError.invalid("user", "not empty, one line") }
        }
        return r
    }

    /// A bare address: no spaces, brackets or line breaks (they would end up in SMTP commands and headers).
    static func isAddress(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && s.utf8.count <= 254
            && s.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f && !"<>(),;:\"[]\\".unicodeScalars.contains($0) }
    }
}

/// An incident as the admin API shows it.
public struct WGIncident: Sendable, Codable, Equatable {
    public var id: Int64
    public var siteID: Int64
    public var hostname: String
    /// offline, port_forward, check:NAME, machine_conflict.
    public var kind: String
    public var detail: String
    /// When the problem began; when the incident opened (grace over: notified); when it cleared (hold-down
    /// running) and resolved.
    public var startedAt: Date
    public var openedAt: Date?
    public var clearedAt: Date?
    public var resolvedAt: Date?
    /// Times it came back within the hold-down.
    public var flaps: Int

    enum CodingKeys: String, CodingKey {
        case id, hostname, kind, detail, flaps
        case siteID = "site_id"
        case startedAt = "started_at"
        case openedAt = "opened_at"
        case clearedAt = "cleared_at"
        case resolvedAt = "resolved_at"
    }

    public var state: String {
        if resolvedAt != nil { return "resolved" }
        if clearedAt != nil { return "clearing" }
        return openedAt != nil ? "open" : "pending"
    }
}

/// What the hub sends (the generic webhook body, as stored in the outbox; the other formats are made from it).
public struct WGAlertEvent: Sendable, Codable, Equatable {
    public struct Site: Sendable, Codable, Equatable {
        public var id: Int64
        public var hostname: String
        public var address: String?
    }
    public var deliveryID: String
    /// opened, resolved, test.
    public var event: String
    public var incidentID: Int64?
    public var kind: String
    public var detail: String
    public var site: Site?
    public var startedAt: Date?
    public var resolvedAt: Date?
    public var flaps: Int
    /// One human line: what the Slack text, the ntfy body and the mail's subject say.
    public var text: String
    public var hub: String?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case event, kind, detail, site, flaps, text, hub
        case deliveryID = "delivery_id"
        case incidentID = "incident_id"
        case startedAt = "started_at"
        case resolvedAt = "resolved_at"
        case createdAt = "created_at"
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// The text of a notification about an incident.
    static func describe(event: String, kind: String, detail: String, hostname: String, flaps: Int, startedAt: Date, now: Date) -> String {
        let what = kind == "offline" ? "offline" : kind == "port_forward" ? "port forward closed"
            : kind == "machine_conflict" ? "credential used by a second machine" : "failing check \(kind.dropFirst(6))"
        switch event {
        case "opened":
            return "\(hostname): \(what) — \(detail) (since \(WGDurations.describe(max(1, now.timeIntervalSince(startedAt)))) ago)"
        default:
            var s = "\(hostname): resolved — \(what) is back to normal after \(WGDurations.describe(max(1, now.timeIntervalSince(startedAt))))"
            if flaps > 0 { s += "; it flapped \(flaps) time\(flaps == 1 ? "" : "s") meanwhile (not paged again)" }
            return s
        }
    }
}

/// One row of the outbox, as `wghub alert` and the admin API show it.
public struct WGAlertDelivery: Sendable, Codable, Equatable {
    public var deliveryID: String
    public var receiverID: String
    public var event: String
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
    public var deliveredAt: Date?
    public var failedAt: Date?

    enum CodingKeys: String, CodingKey {
        case event, attempts
        case deliveryID = "delivery_id"
        case receiverID = "receiver_id"
        case nextAttemptAt = "next_attempt_at"
        case lastError = "last_error"
        case deliveredAt = "delivered_at"
        case failedAt = "failed_at"
    }
}
