import ArgumentParser
import Foundation
import WGHub
import WGModel

struct AlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Alert receivers (webhooks, email over SMTP): add, list, remove, test. A running `wghub serve` sends through them.",
        subcommands: [AlertAddCommand.self, AlertListCommand.self, AlertRemoveCommand.self, AlertTestCommand.self])
}

struct AlertAddCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a receiver: --webhook URL [--format generic|slack|ntfy] [--secret S], or --smtp HOST:PORT --from A --to B [--user U --password-file F] [--starttls].")
    @OptionGroup var data: DataOptions
    @Option(help: "Webhook URL (http:// or https://).") var webhook: String?
    @Option(help: "Webhook body: generic (JSON), slack (Slack/Mattermost {\"text\"}), ntfy (plain text, Title/Priority/Tags headers).")
    var format: String = "generic"
    @Option(help: "Webhook HMAC secret: each request carries X-WGHub-Signature: sha256=HMAC-SHA256(secret, body) in hex.")
    var secret: String?
    @Option(help: "Read the webhook secret from this file instead (first line).") var secretFile: String?
    @Option(help: "SMTP server, HOST:PORT (e.g. mail.example.net:587).") var smtp: String?
    @Option(help: "Sender address.") var from: String?
    @Option(help: "Recipient address (repeatable).") var to: [String] = []
    @Option(help: "SMTP AUTH user (PLAIN or LOGIN; needs --starttls).") var user: String?
    @Option(help: "File holding the SMTP password (first line).") var passwordFile: String?
    @Flag(help: "Upgrade the SMTP connection with STARTTLS (required when it is not offered).") var starttls = false
    @Option(help: "PEM CA certificates to trust for this receiver's TLS instead of the system's.") var caFile: String?
    @Flag(help: "Allow a webhook on loopback, link-local (169.254/16, fe80::/10), unspecified, multicast or this hub's own addresses (refused by default).")
    var allowPrivateReceivers = false

    func run(_ ctx: WGHubCLIContext) async throws {
        var req = WGAlertReceiverRequest()
        req.caFile = caFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        switch (webhook, smtp) {
        case (let url?, nil):
            guard let f = WGAlertReceiver.Format(rawValue: format) else { throw ValidationError("--format is generic, slack or ntfy") }
            req.kind = .webhook
            req.url = url
            req.format = f
            req.secret = try secretFile.map(Self.firstLine) ?? secret
        case (nil, let server?):
            req.kind = .smtp
            req.smtp = server
            req.from = from
            req.to = to
            req.user = user
            req.password = try passwordFile.map(Self.firstLine)
            req.starttls = starttls
            if user != nil && req.password == nil { throw ValidationError("--user needs --password-file") }
        default:
            throw ValidationError("give one of --webhook URL or --smtp HOST:PORT")
        }
        let store = try WGHubStore.open(dataDirectory: data.data)
        do {
            let (receiver, secret) = try req.receiver()
            let r = try await store.addReceiver(receiver, secret: secret, allowPrivate: allowPrivateReceivers)
            ctx.output.row([r.id, r.summary])
        } catch let e as WGHubError { throw ValidationError(e.body.message) }
    }

    static func firstLine(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !line.isEmpty else { throw ValidationError("\(path) is empty") }
        return line
    }
}

struct AlertListCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List receivers (secrets are never shown), open incidents and undelivered notifications.")
    @OptionGroup var data: DataOptions

    func run(_ ctx: WGHubCLIContext) async throws {
        let store = try WGHubStore.open(dataDirectory: data.data)
        let receivers = try await store.receivers()
        if receivers.isEmpty { ctx.output.line("no alert receivers (add one with `wghub alert add`)") }
        for r in receivers { ctx.output.row([r.id, r.summary]) }
        for i in try await store.incidents() {
            ctx.output.row(["incident \(i.id)", i.state, i.hostname, i.kind, i.detail] + (i.flaps > 0 ? ["flapped \(i.flaps)"] : []))
        }
        for d in try await store.deliveries(limit: 1000) where d.deliveredAt == nil {
            ctx.output.row(["outbox \(d.deliveryID)", d.receiverID, d.event, d.failedAt != nil ? "given up" : "pending", "attempts \(d.attempts)"]
                + (d.lastError.map { [$0] } ?? []))
        }
    }
}

struct AlertRemoveCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a receiver (and what is still queued for it).")
    @OptionGroup var data: DataOptions
    @Argument(help: "The receiver ID from `wghub alert list`.") var id: String

    func run(_ ctx: WGHubCLIContext) async throws {
        let store = try WGHubStore.open(dataDirectory: data.data)
        guard try await store.removeReceiver(id: id) else { throw ValidationError("no receiver \(id): see `wghub alert list`") }
        ctx.output.line("removed \(id)")
    }
}

struct AlertTestCommand: WGHubRunnable {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Send a test notification to a receiver through the outbox, and say whether it was acknowledged.")
    @OptionGroup var data: DataOptions
    @Argument(help: "The receiver ID from `wghub alert list`.") var id: String
    @Option(help: "Seconds to wait for the answer.") var wait: Double = 40

    func run(_ ctx: WGHubCLIContext) async throws {
        let store = try WGHubStore.open(dataDirectory: data.data)
        guard let delivery = try await store.enqueueTest(receiverID: id, hub: try store.meta("public_url")) else {
            throw ValidationError("no receiver \(id): see `wghub alert list`")
        }
        ctx.output.line("queued \(delivery)")
        // Sent from here at once (a running serve may claim it first: then its outcome is awaited).
        let deliverer = WGAlertDeliverer(store: store, settings: WGAlertSettings())
        let end = Date().addingTimeInterval(wait)
        while Date() < end {
            if let o = await deliverer.deliverDue(id: delivery).first {
                if let e = o.error { ctx.output.line("failed: \(WGText.terminalSafe(e)) (retried by wghub serve)"); throw ExitCode(1) }
                ctx.output.line("delivered \(delivery)"); return
            }
            if let d = try await store.delivery(id: delivery) {
                if d.deliveredAt != nil { ctx.output.line("delivered \(delivery)"); return }
                if d.attempts > 0, let e = d.lastError { ctx.output.line("failed: \(WGText.terminalSafe(e)) (retried by wghub serve)"); throw ExitCode(1) }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        ctx.output.line("not acknowledged within \(Int(wait)) s; it stays in the outbox")
        throw ExitCode(1)
    }
}
