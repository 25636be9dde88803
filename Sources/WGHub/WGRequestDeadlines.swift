import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOTLS

/// Closes a connection that is too slow at any stage: the TLS handshake, a request's head (slowloris), its body,
/// the sending of an answer, or the wait for the next request on a kept-alive connection. Sits after the HTTP
/// codec, so it sees request parts, response parts and the TLS handshake's end. While a request is being answered
/// there is no deadline: that time is the hub's own. Once the answer's head goes out the deadline is about
/// progress, not total time: a client on a slow link may take as long as it needs while it takes at least
/// `minSendRate` bytes a second over any `sendStallTimeout`; bytes count as taken when their write completed on
/// the socket, not when they were queued. The idle deadline starts when the answer's end was written.
final class WGRequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    enum Stage: String { case handshake, head, body, answering, sending, idle }

    private let limits: WGConnectionLimits
    private let metrics: WGHubMetrics
    private let tls: Bool
    private var stage: Stage = .handshake
    private var timer: Scheduled<Void>?
    /// The response went out before the request's body ended (a 413, a refusal): the body deadline still runs.
    private var answeredEarly = false
    private var countedParseError = false
    private var cutByDeadline = false
    /// Requests read on this connection: an answer's end that completes after the next request began leaves the
    /// stage to that request.
    private var generation = 0
    // While sending: body bytes handed on, and of them written to the socket; the last point progress was judged from.
    private var queued = 0
    private var sent = 0
    private var mark: (time: NIODeadline, sent: Int) = (.now(), 0)
    /// Writers waiting until at most `limit` bytes they handed on are still unsent (`whenDrained`).
    private var drainWaiters: [(limit: Int, promise: EventLoopPromise<Void>)] = []

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
        failDrainWaiters()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        failDrainWaiters()
        context.fireChannelInactive()
    }

    /// Succeeds once at most `limit` body bytes of the answer being sent are still unsent. NIOAsyncWriter's
    /// writability alone lets a fast writer queue a whole file before the event loop reports the channel full
    /// (seen: 8 MB queued at once, and TLS keeps a ciphertext copy of it); a writer that waits here holds at most
    /// `limit` per connection. Fails when the connection closes.
    func whenDrained(atMost limit: Int, eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        if queued - sent <= limit { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        drainWaiters.append((limit, promise))
        return promise.futureResult
    }

    private func wakeDrainWaiters() {
        guard !drainWaiters.isEmpty else { return }
        let pending = queued - sent
        drainWaiters.removeAll { waiter in
            guard pending <= waiter.limit else { return false }
            waiter.promise.succeed(())
            return true
        }
    }

    private func failDrainWaiters() {
        let waiters = drainWaiters
        drainWaiters = []
        for w in waiters { w.promise.fail(ChannelError.ioOnClosedChannel) }
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
        case .head: generation += 1; enter(.body, context)
        case .body: break
        case .end:
            if answeredEarly { answeredEarly = false; enter(.idle, context) } else { enter(.answering, context) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if stage == .answering, head.status.kind != .informational { startSending(context) }
            context.write(data, promise: promise)
        case .body(let buffer):
            guard stage == .sending else { return context.write(data, promise: promise) }
            let n = buffer.readableBytes
            queued += n
            let done = promise ?? context.eventLoop.makePromise()
            done.futureResult.assumeIsolated().whenSuccess {
                self.sent += n
                self.wakeDrainWaiters()
            }
            context.write(data, promise: done)
        case .end:
            if stage == .body { answeredEarly = true; return context.write(data, promise: promise) }
            guard stage == .answering || stage == .sending else { return context.write(data, promise: promise) }
            // Idle from when the end (so everything before it) is on the socket, not from when it was queued.
            let done = promise ?? context.eventLoop.makePromise()
            let answered = generation
            done.futureResult.assumeIsolated().whenComplete { _ in
                if self.generation == answered, self.stage == .answering || self.stage == .sending { self.enter(.idle, context) }
            }
            context.write(data, promise: done)
        }
    }

    private func startSending(_ context: ChannelHandlerContext) {
        failDrainWaiters()  // none should be left from an earlier answer; never let one hang
        enter(.sending, context)
        queued = 0
        sent = 0
        mark = (.now(), 0)
        scheduleProgressCheck(context)
    }

    /// Judged a few times per stall window: enough progress (or nothing waiting) moves the mark on; a whole window
    /// since the mark with less than `minSendRate` bytes a second taken while bytes waited cuts the connection.
    private func scheduleProgressCheck(_ context: ChannelHandlerContext) {
        let window = limits.sendStallTimeout
        let every = min(10, max(0.2, window / 6))
        let answered = generation
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(every * 1000))) { [weak self] in
            guard let self, self.stage == .sending, self.generation == answered else { return }
            let now = NIODeadline.now()
            let needed = Int(self.limits.minSendRate * window)
            if self.sent >= self.queued || self.sent - self.mark.sent >= max(1, needed) {
                self.mark = (now, self.sent)
            } else if now - self.mark.time >= .milliseconds(Int64(window * 1000)) {
                self.metrics.count("wghub_connections_timed_out_total")
                self.metrics.refusal("timeout_send")
                self.cutByDeadline = true
                self.failDrainWaiters()
                context.close(promise: nil)
                return
            }
            self.scheduleProgressCheck(context)
        }
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
        case .answering, .sending: return
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

/// What an answer's body writer waits on between slices: the connection's `WGRequestDeadlines`, reached on its
/// event loop. nil in router tests (no real channel).
public struct WGSendGate: Sendable {
    let eventLoop: any EventLoop
    let deadlines: NIOLoopBound<WGRequestDeadlines>

    static func of(_ channel: any Channel) async -> WGSendGate? {
        let loop = channel.eventLoop
        return try? await loop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: WGRequestDeadlines.self), eventLoop: loop)
        }.map { WGSendGate(eventLoop: loop, deadlines: $0) }.get()
    }

    /// Returns once at most `limit` bytes handed on are still unsent; throws when the connection closed.
    func drained(atMost limit: Int) async throws {
        let deadlines = self.deadlines
        let loop = eventLoop
        try await loop.flatSubmit { deadlines.value.whenDrained(atMost: limit, eventLoop: loop) }.get()
    }
}
