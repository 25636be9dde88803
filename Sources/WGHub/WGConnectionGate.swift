import NIOCore

/// First handler of every connection (before TLS): admits it within the connection limits or closes it at once,
/// so an idle flood is refused instead of eating the file descriptors every other client needs.
final class WGConnectionGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let admission: WGConnectionAdmission
    private let metrics: WGHubMetrics
    private var admittedAddress: String?
    private var decided = false

    init(admission: WGConnectionAdmission, metrics: WGHubMetrics) {
        self.admission = admission
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { decide(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        decide(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let a = admittedAddress { admission.release(a); admittedAddress = nil }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let a = admittedAddress { admission.release(a); admittedAddress = nil }
    }

    private func decide(_ context: ChannelHandlerContext) {
        guard !decided else { return }
        decided = true
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        switch admission.admit(address) {
        case .admitted:
            admittedAddress = address
            metrics.count("wghub_connections_total")
        case let refused:
            metrics.refusal(refused.rawValue)
            context.close(promise: nil)
        }
    }
}
