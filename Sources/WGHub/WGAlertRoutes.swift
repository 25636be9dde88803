import Foundation
import Hummingbird
import WGModel

/// `POST /v1/alerts` and `wghub alert add`: a receiver and its secret (HMAC key or SMTP password).
public struct WGAlertReceiverRequest: Codable, Sendable {
    public var kind: WGAlertReceiver.Kind?
    public var url: String?
    public var format: WGAlertReceiver.Format?
    public var secret: String?
    /// `HOST:PORT` (or host and port apart).
    public var smtp: String?
    public var host: String?
    public var port: Int?
    public var from: String?
    public var to: [String]?
    public var user: String?
    public var password: String?
    public var starttls: Bool?
    public var caFile: String?

    enum CodingKeys: String, CodingKey {
        case kind, url, format, secret, smtp, host, port, from, to, user, password, starttls
        case caFile = "ca_file"
    }

    public init() {}

    /// The receiver (not yet validated) and its secret.
    public func receiver() throws -> (WGAlertReceiver, String?) {
        let kind = kind ?? (smtp != nil || host != nil ? .smtp : .webhook)
        var r = WGAlertReceiver(kind: kind)
        r.caFile = caFile
        switch kind {
        case .webhook:
            r.url = url
            r.format = format ?? .generic
            return (r, secret)
        case .smtp:
            var host = host, port = port
            if let smtp {
                guard let colon = smtp.lastIndex(of: ":"), let p = Int(smtp[smtp.index(after: colon)...]) else {
                    throw WGHubError.invalid("smtp", "HOST:PORT, e.g. mail.example.net:587")
                }
                host = String(smtp[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                port = p
            }
            r.host = host
            r.port = port ?? 25
            r.from = from
            r.to = to
            r.user = user
            r.starttls = starttls ?? false
            if user != nil && r.starttls != true { throw WGHubError.invalid("starttls", "a password is only sent over TLS: add starttls") }
            return (r, password)
        }
    }
}

/// The admin API of alerts (routes of the admin group: its middleware checked the token).
func addAlertRoutes(_ router: RouterGroup<WGHubRequestContext>, hub: WGHubService) {
    let limit = hub.config.maxBodyBytes
    router.get("/v1/alerts") { request, context in
        return try WGHubJSON.response(WGAlertsAnswer(
            receivers: try await hub.store.receivers().map(\.shown), incidents: try await hub.store.incidents(all: true, limit: 100),
            outbox: try await hub.store.deliveries(limit: 100)))
    }
    router.post("/v1/alerts") { request, context in
        let (body, _) = try await WGHubJSON.decode(WGAlertReceiverRequest.self, from: request, limit: limit)
        // A path from the network would make the hub read any file as trust roots, and its error would say whether
        // the file exists: refused before anything looks at it. `wghub alert add --ca-file` is on the hub machine.
        guard body.caFile == nil else {
            throw WGHubError.invalid("ca_file", "a CA file is named only on the hub machine: `wghub alert add … --ca-file FILE`")
        }
        let (receiver, secret) = try body.receiver()
        let own = WGReceiverTarget.configuredAddresses(
            pool: hub.config.pool.description, endpoint: hub.config.endpoint, publicURL: hub.config.effectivePublicURL)
            + [hub.config.listenHost].compactMap { try? WGIPAddress($0) }
        let added = try await hub.store.addReceiver(receiver, secret: secret, allowPrivate: hub.config.alerts.allowPrivateReceivers, own: own)
        return try WGHubJSON.response(added.shown, status: .created)
    }
    router.delete("/v1/alerts/{id}") { request, context in
        let id = context.parameters.get("id") ?? ""
        guard try await hub.store.removeReceiver(id: id) else { throw WGHubError(404, "receiver_unknown", "no receiver \(id.prefix(40)): see GET /v1/alerts") }
        return try WGHubJSON.response(["deleted": id])
    }
    router.post("/v1/alerts/{id}/test") { request, context in
        let id = context.parameters.get("id") ?? ""
        guard let delivery = try await hub.store.enqueueTest(receiverID: id, hub: hub.config.effectivePublicURL) else {
            throw WGHubError(404, "receiver_unknown", "no receiver \(id.prefix(40)): see GET /v1/alerts")
        }
        return try WGHubJSON.response(["delivery_id": delivery], status: .accepted)
    }
}

/// `GET /v1/alerts`: receivers (never their secrets), recent incidents and outbox rows.
struct WGAlertsAnswer: Codable, Sendable {
    var receivers: [WGAlertReceiver]
    var incidents: [WGIncident]
    var outbox: [WGAlertDelivery]
}
