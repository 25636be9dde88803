import Crypto
import Foundation

/// Turns an outbox row into what its receiver gets, and sends it: a webhook POST (generic JSON, Slack/Mattermost
/// `{"text"}`, ntfy plain text with Title/Priority/Tags), signed with the receiver's secret, or a mail over SMTP.
enum WGAlertSender {
    /// `sha256=HEX` of HMAC-SHA256(secret, body): the `X-WGHub-Signature` header.
    static func signature(secret: String, body: [UInt8]) -> String {
        "sha256=" + WGHubSecrets.hex(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))))
    }

    /// The webhook request for an event: body and headers (signature included when there is a secret).
    static func webhookRequest(_ event: WGAlertEvent, payload: String, format: WGAlertReceiver.Format, secret: String?) -> (body: [UInt8], headers: [(String, String)]) {
        var headers: [(String, String)] = [("X-WGHub-Delivery", event.deliveryID), ("X-WGHub-Event", event.event)]
        let body: [UInt8]
        switch format {
        case .generic:
            body = Array(payload.utf8)
            headers.append(("Content-Type", "application/json"))
        case .slack:
            let icon = event.event == "opened" ? ":red_circle:" : event.event == "resolved" ? ":large_green_circle:" : ":information_source:"
            body = Array((try? WGAlertEvent.encoder.encode(["text": "\(icon) \(event.text)"])) ?? Data("{}".utf8))
            headers.append(("Content-Type", "application/json"))
        case .ntfy:
            body = Array(event.text.utf8)
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
            let site = event.site.map { ascii($0.hostname) } ?? "wghub"
            headers.append(("Title", "wghub: \(site) \(event.event == "test" ? "test" : "\(event.kind) \(event.event)")"))
            headers.append(("Priority", event.event == "opened" ? "high" : event.event == "resolved" ? "default" : "low"))
            headers.append(("Tags", event.event == "opened" ? "warning" : event.event == "resolved" ? "white_check_mark" : "test_tube"))
        }
        if let secret { headers.append(("X-WGHub-Signature", signature(secret: secret, body: body))) }
        return (body, headers)
    }

    /// The mail for an event.
    static func mail(_ event: WGAlertEvent, receiver: WGAlertReceiver) -> WGSMTPMessage {
        var lines = [event.text, ""]
        if let s = event.site { lines.append("site: \(s.hostname) (id \(s.id)\(s.address.map { ", \($0)" } ?? ""))") }
        lines.append("event: \(event.event)")
        if event.kind != "test" { lines.append("problem: \(event.kind): \(event.detail)") }
        if let t = event.startedAt { lines.append("started: \(ISO8601DateFormatter().string(from: t))") }
        if let t = event.resolvedAt { lines.append("resolved: \(ISO8601DateFormatter().string(from: t))") }
        if event.flaps > 0 { lines.append("flapped: \(event.flaps) time(s) within the hold-down") }
        if let hub = event.hub { lines.append("hub: \(hub)") }
        lines.append("delivery: \(event.deliveryID)")
        return WGSMTPMessage(
            from: receiver.from ?? "", to: receiver.to ?? [], subject: "[wghub] \(event.text.prefix(200))", body: lines.joined(separator: "\n") + "\n",
            messageID: event.deliveryID, date: event.createdAt)
    }

    /// One attempt; throws with the receiver's words when it did not acknowledge (2xx / 250 after DATA).
    static func send(_ d: WGClaimedDelivery, settings: WGAlertSettings) async throws {
        let event = try WGAlertEvent.decoder.decode(WGAlertEvent.self, from: Data(d.payload.utf8))
        let r = d.receiver
        switch r.kind {
        case .webhook:
            let (body, headers) = webhookRequest(event, payload: d.payload, format: r.format ?? .generic, secret: d.secret)
            let (status, text) = try await WGHTTPPost.post(
                url: r.url ?? "", headers: headers, body: body, connectTimeout: settings.connectTimeout,
                totalTimeout: settings.totalTimeout, caFile: r.caFile, allowPrivate: r.allowPrivate == true || settings.allowPrivateReceivers)
            // The status only: the answer's words would come back in GET /v1/alerts and `wghub alert list`, a way to
            // read what a target says (a metadata service, an internal page).
            guard (200..<300).contains(status) else {
                throw WGDeliveryError("HTTP \(status)\(text.isEmpty ? "" : " (answer of \(text.utf8.count) bytes not kept)")")
            }
        case .smtp:
            var client = WGSMTPClient(host: r.host ?? "", port: r.port ?? 25, starttls: r.starttls == true, user: r.user,
                                      password: d.secret, caFile: r.caFile)
            client.connectTimeout = settings.connectTimeout
            client.totalTimeout = settings.totalTimeout
            try await client.send(mail(event, receiver: r))
        }
    }

    static func ascii(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7f }.prefix(64)))
    }
}
