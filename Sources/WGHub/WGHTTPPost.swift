import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import WGModel

public struct WGDeliveryError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
}

/// A one-shot HTTP/1.1 POST over NIO (webhooks): TLS for https:// (system trust roots, or a CA file), a connect
/// timeout and a deadline for the whole exchange, the answer's body read up to 16 KiB. One connection per request,
/// `Connection: close`; no redirects followed. Unless `allowPrivate`, the host is resolved first and the address
/// checked (WGReceiverTarget): a name pointing at loopback, link-local or the hub is refused, and the connection
/// goes to the address checked, so a second lookup cannot swap it.
enum WGHTTPPost {
    static let maxAnswer = 16 * 1024

    static func post(
        url: String, headers: [(String, String)], body: [UInt8], connectTimeout: TimeInterval, totalTimeout: TimeInterval,
        caFile: String? = nil, allowPrivate: Bool = false
    ) async throws -> (status: Int, body: String) {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let rawHost = c.host, !rawHost.isEmpty else {
            throw WGDeliveryError("not an http(s) URL: \(WGReceiverTarget.masked(url))")
        }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let tls = scheme == "https"
        let port = c.port ?? (tls ? 443 : 80)
        var path = c.percentEncodedPath.isEmpty ? "/" : c.percentEncodedPath
        if let q = c.percentEncodedQuery { path += "?" + q }
        let sslContext: NIOSSLContext? = tls ? try await WGTLSClient.context(caFile: caFile) : nil
        let sni = WGTLSClient.serverName(host)
        let checked = allowPrivate ? nil : try await publicAddress(host, port: port)

        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let answer = loop.makePromise(of: (Int, String).self)
        let (channel, deadline): (Channel, Scheduled<Void>)
        do {
            (channel, deadline) = try await WGTLSClient.connect(
                loop: loop, host: host, port: port, address: checked, connectTimeout: connectTimeout, totalTimeout: totalTimeout,
                onDeadline: { answer.fail(WGDeliveryError("no answer from \(host):\(port) within \(WGDurations.describe(totalTimeout))")) }
            ) { channel in
                if let sslContext {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: sni))
                }
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(AnswerCollector(promise: answer, limit: maxAnswer))
            }
        } catch {
            answer.fail(error)
            throw WGDeliveryError("cannot connect to \(host):\(port): \(error)")
        }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        let hostHeader = host.contains(":") ? "[\(host)]" : host
        head.headers.add(name: "Host", value: c.port == nil ? hostHeader : "\(hostHeader):\(port)")
        head.headers.add(name: "User-Agent", value: "wghub")
        head.headers.add(name: "Content-Length", value: "\(body.count)")
        head.headers.add(name: "Connection", value: "close")
        for (k, v) in headers { head.headers.add(name: k, value: v) }
        let request = head
        channel.write(HTTPClientRequestPart.head(request), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let (status, text) = try await withTaskCancellationHandler {
            try await answer.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }
        return (status, text)
    }

    /// The address `host` resolves to (off the cooperative pool: getaddrinfo blocks), refused when it is private.
    static func publicAddress(_ host: String, port: Int) async throws -> SocketAddress {
        let address: SocketAddress
        let own: [WGIPAddress]
        do {
            // The interfaces are read on the same thread (getifaddrs is a system call too).
            (address, own) = try await WGBlockingWork.run {
                (try SocketAddress.makeAddressResolvingHost(host, port: port), WGReceiverTarget.localAddresses())
            }
        } catch {
            throw WGDeliveryError("cannot resolve \(host): \(error)")
        }
        if let ip = address.ipAddress, let a = try? WGIPAddress(ip), let kind = WGReceiverTarget.privateKind(a, own: own) {
            throw WGDeliveryError("refused: \(host) is \(ip), \(kind) (add the receiver with --allow-private-receivers if it is meant)")
        }
        return address
    }
}

/// Status and (bounded) body of the answer; fails on close or error before the end.
private final class AnswerCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<(Int, String)>
    let limit: Int
    var status = 0
    var body = ByteBuffer()

    init(promise: EventLoopPromise<(Int, String)>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): status = Int(h.status.code)
        case .body(var b):
            if body.readableBytes < limit, let bytes = b.readBytes(length: min(b.readableBytes, limit - body.readableBytes)) {
                body.writeBytes(bytes)
            }
        case .end:
            promise.succeed((status, String(buffer: body)))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(WGDeliveryError(status == 0 ? "connection closed before an answer" : "connection closed mid-answer (HTTP \(status))"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

/// The hub's outbound connections (webhooks, SMTP): connect and deadline, TLS with full verification against the
/// system's roots or the receiver's CA file.
enum WGTLSClient {
    /// Connects within `connectTimeout` with the handlers `setUp` adds (on the channel's loop), and closes the channel
    /// once `totalTimeout` (counted from the start) has passed, after calling `onDeadline`. Cancel the task when done.
    static func connect(
        loop: EventLoop, host: String, port: Int, address: SocketAddress? = nil, connectTimeout: TimeInterval, totalTimeout: TimeInterval,
        onDeadline: @escaping @Sendable () -> Void, setUp: @escaping @Sendable (Channel) throws -> Void
    ) async throws -> (Channel, Scheduled<Void>) {
        let started = Date()
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(connectTimeout * 1000)))
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try setUp(channel) } }
        // `address`: one already resolved and checked; else NIO resolves `host`.
        let connecting = address.map { bootstrap.connect(to: $0) } ?? bootstrap.connect(host: host, port: port)
        // Cancellation (the hub shutting down) ends the wait at once; a connection made after it is closed.
        let connected = loop.makePromise(of: Channel.self)
        connecting.cascade(to: connected)
        let channel = try await withTaskCancellationHandler {
            try await connected.futureResult.get()
        } onCancel: {
            connected.fail(CancellationError())
            connecting.whenSuccess { $0.close(promise: nil) }
        }
        let remaining = max(0.1, totalTimeout - Date().timeIntervalSince(started))
        let deadline = loop.scheduleTask(in: .milliseconds(Int64(remaining * 1000))) {
            onDeadline()
            channel.close(promise: nil)
        }
        return (channel, deadline)
    }

    /// Made on a blocking-work thread: loading trust roots reads files (the system bundle or the CA file).
    static func context(caFile: String?) async throws -> NIOSSLContext {
        try await WGBlockingWork.run {
            var config = TLSConfiguration.makeClientConfiguration()
            config.minimumTLSVersion = .tlsv12
            if let caFile { config.trustRoots = .file(caFile) }
            return try NIOSSLContext(configuration: config)
        }
    }

    /// SNI and the name checked against the certificate; nil for an IP literal (then its IP SAN is checked).
    static func serverName(_ host: String) -> String? {
        host.contains(":") || host.split(separator: ".").allSatisfy({ Int($0) != nil }) ? nil : host
    }
}
