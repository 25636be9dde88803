import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOTLS

/// Closes a connection that is too slow at any stage: the TLS handshake, a request's head (slowloris), its body,
/// or the wait for the next request on a kept-alive connection. Sits after the HTTP codec, so it sees request
/// parts, response parts and the TLS handshake's end. While a request is being answered there is no deadline:
/// that time is the hub's own.
final class WGRequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    enum Stage: String { case handshake, head, body, answering, idle }

    private let limits: WGConnectionLimits
    private let metrics: WGHubMetrics
    private let tls: Bool
    private var stage: Stage = .handshake
    private var timer: Scheduled<Void>?
    /// The response went out before the request's body ended (a 413, a refusal): the body deadline still runs.
    private var answeredEarly = false
    private var countedParseError = false
    private var cutByDeadline = false

    init(limits: WGConnectionLimits, metrics: WGHubMetrics, tls: Bool) {
        self.limits = limits
        self.metrics = metrics
        self.tls = tls
    }

    func handlerAdded(context: ChannelHandlerContext) {
        enter(tls ? .handshake : .head, context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// A request the HTTP decoder could not parse (a header over the limit, a bad chunk size) is a refusal too,
    /// also when it never reaches the router (the codec answers and closes). Counted here, once per connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A head cut off by our own deadline ends in a parse error too: that one was counted as the timeout.
        if error is HTTPParserError, !countedParseError, !cutByDeadline {
            countedParseError = true
            metrics.refusal("invalid_http")
        }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, stage == .handshake { enter(.head, context) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: enter(.body, context)
        case .body: break
        case .end:
            if answeredEarly { answeredEarly = false; enter(.idle, context) } else { enter(.answering, context) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            if stage == .answering { enter(.idle, context) } else if stage == .body { answeredEarly = true }
        }
        context.write(data, promise: promise)
    }

    private func enter(_ next: Stage, _ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        stage = next
        let seconds: Double
        switch next {
        case .handshake: seconds = limits.handshakeTimeout
        case .head: seconds = limits.headerTimeout
        case .body: seconds = limits.bodyTimeout
        case .idle: seconds = limits.idleTimeout
        case .answering: return
        }
        let metrics = self.metrics
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [weak self] in
            guard let self, self.stage == next else { return }
            // An idle keep-alive closing is ordinary; the others are a client too slow (or an attack).
            metrics.count(next == .idle ? "wghub_connections_idle_closed_total" : "wghub_connections_timed_out_total")
            if next != .idle { metrics.refusal("timeout_\(next.rawValue)") }
            self.cutByDeadline = true
            context.close(promise: nil)
        }
    }
}
