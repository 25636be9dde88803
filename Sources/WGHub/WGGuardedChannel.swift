import HummingbirdCore
import Logging
import NIOCore

/// Wraps Hummingbird's child channel (TLS + HTTP/1) with `WGConnectionGate` in front, so the connection cap is
/// decided before any TLS work is spent on a connection.
struct WGGuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let admission: WGConnectionAdmission
    let metrics: WGHubMetrics

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(WGConnectionGate(admission: admission, metrics: metrics))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
