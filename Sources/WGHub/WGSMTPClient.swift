import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A small SMTP submission client over NIO: EHLO, STARTTLS (required when asked for, and before any password),
/// AUTH PLAIN or LOGIN (whichever the server offers, PLAIN first), MAIL FROM / RCPT TO / DATA with dot-stuffing.
/// A message counts as delivered only on the 250 after DATA. Connect timeout, one deadline for the whole dialogue
/// (the connection is closed when it passes), replies bounded (a line 4 KiB, a reply 64 lines).
public struct WGSMTPMessage: Sendable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var body: String
    /// `<ID@wghub>`; also the X-WGHub-Delivery header.
    public var messageID: String
    public var date = Date()
}

public struct WGSMTPClient: Sendable {
    public var host: String
    public var port: Int
    public var starttls: Bool
    public var user: String?
    public var password: String?
    public var caFile: String?
    public var connectTimeout: TimeInterval = 10
    public var totalTimeout: TimeInterval = 30
    public var heloName = "wghub"

    public init(host: String, port: Int, starttls: Bool, user: String? = nil, password: String? = nil, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.starttls = starttls
        self.user = user
        self.password = password
        self.caFile = caFile
    }

    struct Reply: Sendable {
        var code: Int
        var lines: [String]
        var text: String { lines.joined(separator: " / ") }
    }

    /// Sends one message; returns the server's answer to the end of DATA (250).
    @discardableResult
    public func send(_ message: WGSMTPMessage) async throws -> String {
        if user != nil && !starttls {
            throw WGDeliveryError("SMTP AUTH without TLS would send the password in clear: add --starttls")
        }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let (replies, continuation) = AsyncThrowingStream<Reply, Error>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let total = totalTimeout
        let timedOut = WGFlag()
        let (channel, deadline): (Channel, Scheduled<Void>)
        do {
            (channel, deadline) = try await WGTLSClient.connect(
                loop: loop, host: host, port: port, connectTimeout: connectTimeout, totalTimeout: total, onDeadline: { timedOut.set() }
            ) { channel in
                try channel.pipeline.syncOperations.addHandler(SMTPReplyReader(continuation: continuation))
            }
        } catch {
            continuation.finish()
            throw WGDeliveryError("cannot connect to SMTP \(host):\(port): \(error)")
        }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        // Cancellation (the hub shutting down) closes the connection, which ends the dialogue at once.
        return try await withTaskCancellationHandler {
            try await dialogue(channel: channel, replies: replies, timedOut: timedOut, message: message)
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    private func dialogue(
        channel: Channel, replies: AsyncThrowingStream<Reply, Error>, timedOut: WGFlag, message: WGSMTPMessage
    ) async throws -> String {
        let total = totalTimeout
        var iterator = replies.makeAsyncIterator()
        var stage = "greeting"
        func read(_ expected: Set<Int>) async throws -> Reply {
            let r: Reply?
            do { r = try await iterator.next() } catch {
                throw WGDeliveryError("SMTP \(host):\(port) at \(stage): \(timedOut.isSet ? "no answer within \(WGDurations.describe(total))" : "\(error)")")
            }
            guard let r else {
                throw WGDeliveryError("SMTP \(host):\(port) closed the connection at \(stage)\(timedOut.isSet ? " (deadline of \(WGDurations.describe(total)) passed)" : "")")
            }
            guard expected.contains(r.code) else { throw WGDeliveryError("SMTP \(host):\(port) refused at \(stage): \(r.code) \(r.text)") }
            return r
        }
        func command(_ line: String, _ stageName: String, expect: Set<Int>) async throws -> Reply {
            stage = stageName
            try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n")).get()
            return try await read(expect)
        }

        _ = try await read([220])
        var ehlo = try await command("EHLO \(heloName)", "EHLO", expect: [250])
        if starttls {
            guard ehlo.lines.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                throw WGDeliveryError("SMTP \(host):\(port) does not offer STARTTLS (its EHLO: \(ehlo.text))")
            }
            _ = try await command("STARTTLS", "STARTTLS", expect: [220])
            let context = try await WGTLSClient.context(caFile: caFile)
            let sni = WGTLSClient.serverName(host)
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: sni), position: .first)
            }.get()
            ehlo = try await command("EHLO \(heloName)", "EHLO after STARTTLS", expect: [250])
        }
        if let user {
            let password = self.password ?? ""
            let mechanisms = ehlo.lines.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased().split(separator: " ").dropFirst().map(String.init) ?? []
            if mechanisms.contains("PLAIN") {
                let token = Data([0] + Array(user.utf8) + [0] + Array(password.utf8)).base64EncodedString()
                _ = try await command("AUTH PLAIN \(token)", "AUTH PLAIN", expect: [235])
            } else if mechanisms.contains("LOGIN") {
                _ = try await command("AUTH LOGIN", "AUTH LOGIN", expect: [334])
                _ = try await command(Data(user.utf8).base64EncodedString(), "AUTH LOGIN user", expect: [334])
                _ = try await command(Data(password.utf8).base64EncodedString(), "AUTH LOGIN password", expect: [235])
            } else {
                throw WGDeliveryError("SMTP \(host):\(port) offers no AUTH PLAIN or LOGIN (its EHLO: \(ehlo.text))")
            }
        }
        _ = try await command("MAIL FROM:<\(message.from)>", "MAIL FROM", expect: [250])
        for r in message.to { _ = try await command("RCPT TO:<\(r)>", "RCPT TO \(r)", expect: [250, 251]) }
        _ = try await command("DATA", "DATA", expect: [354])
        stage = "end of DATA"
        try await channel.writeAndFlush(ByteBuffer(string: Self.render(message))).get()
        let done = try await read([250])
        // Delivered: the answer to QUIT does not matter.
        channel.writeAndFlush(ByteBuffer(string: "QUIT\r\n"), promise: nil)
        return "\(done.code) \(done.text)"
    }

    /// The message as sent after DATA: headers, a base64 text body, dot-stuffed, ended by CRLF.CRLF.
    static func render(_ m: WGSMTPMessage) -> String {
        let date = DateFormatter()
        date.locale = Locale(identifier: "en_US_POSIX")
        date.timeZone = TimeZone(identifier: "UTC")
        date.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let body = Data(m.body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
            .base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let headers = [
            "From: <\(m.from)>",
            "To: \(m.to.map { "<\($0)>" }.joined(separator: ", "))",
            "Subject: \(encodeHeader(m.subject))",
            "Date: \(date.string(from: m.date))",
            "Message-ID: <\(m.messageID)@wghub>",
            "X-WGHub-Delivery: \(m.messageID)",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
        ]
        let text = headers.joined(separator: "\r\n") + "\r\n\r\n" + body + "\r\n"
        // Dot-stuffing (base64 never starts a line with "." but headers might).
        let stuffed = text.split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
        return stuffed + ".\r\n"
    }

    /// RFC 2047 for a header that is not plain ASCII; line breaks never get into a header.
    static func encodeHeader(_ s: String) -> String {
        let one = s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if one.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7f }) { return one }
        return "=?utf-8?B?\(Data(one.utf8).base64EncodedString())?="
    }
}

/// Splits the server's bytes into replies (`250-…` lines continue, `250 …` ends one).
private final class SMTPReplyReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncThrowingStream<WGSMTPClient.Reply, Error>.Continuation
    var pending = ByteBuffer()
    var lines: [String] = []

    init(continuation: AsyncThrowingStream<WGSMTPClient.Reply, Error>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending.writeBuffer(&buffer)
        while let i = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = i - pending.readableBytesView.startIndex + 1
            var line = pending.readString(length: length) ?? ""
            while line.hasSuffix("\n") || line.hasSuffix("\r") { line.removeLast() }
            let code = Int(line.prefix(3)) ?? 0
            let more = line.count > 3 && line[line.index(line.startIndex, offsetBy: 3)] == "-"
            lines.append(line.count > 4 ? String(line.dropFirst(4)) : "")
            if code < 200 || code > 599 || lines.count > 64 {
                fail(context, "SMTP: not a reply: \(line.prefix(80))")
                return
            }
            if !more {
                continuation.yield(.init(code: code, lines: lines))
                lines = []
            }
        }
        pending.discardReadBytes()
        if pending.readableBytes > 4096 { fail(context, "SMTP: a reply line over 4 KiB") }
    }

    private func fail(_ context: ChannelHandlerContext, _ why: String) {
        continuation.finish(throwing: WGDeliveryError(why))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }
}

/// A flag set once from any thread.
final class WGFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
