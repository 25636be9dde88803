import Foundation

/// How long a connection may take at each stage, and how many may be open: what a server facing the internet
/// needs so idle sockets, slowloris and handshake stalls cannot hold it. `wghub serve` flags set them.
public struct WGConnectionLimits: Sendable, Equatable {
    /// TLS handshake, from accept to the handshake's end.
    public var handshakeTimeout: TimeInterval
    /// A request's head (line and headers), from the handshake's end or the previous response.
    public var headerTimeout: TimeInterval
    /// A request's body, from its head to its end.
    public var bodyTimeout: TimeInterval
    /// A kept-alive connection waiting for its next request, counted from when the last answer was sent (not queued).
    public var idleTimeout: TimeInterval
    /// While an answer is being sent, the client must take at least `minSendRate` bytes a second over any
    /// `sendStallTimeout`: a slow link (a rural DSL line, an LTE backup) gets the agent however long it takes, a
    /// client that stopped reading is cut.
    public var minSendRate: Double
    public var sendStallTimeout: TimeInterval
    /// Connections open at once; the excess is closed at accept (counted), so the rest keep working.
    public var maxConnections: Int
    /// Connections open at once from one address.
    public var maxConnectionsPerAddress: Int

    public init(
        handshakeTimeout: TimeInterval = 10, headerTimeout: TimeInterval = 10, bodyTimeout: TimeInterval = 30,
        idleTimeout: TimeInterval = 60, maxConnections: Int = 4096, maxConnectionsPerAddress: Int = 128,
        minSendRate: Double = 1024, sendStallTimeout: TimeInterval = 60
    ) {
        self.minSendRate = minSendRate
        self.sendStallTimeout = sendStallTimeout
        self.handshakeTimeout = handshakeTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }
}

/// Counts open connections, overall and per address; `admit` says whether one more may stay open.
public final class WGConnectionAdmission: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    private var perAddress: [String: Int] = [:]
    let limits: WGConnectionLimits

    init(limits: WGConnectionLimits) { self.limits = limits }

    public enum Verdict: String, Sendable { case admitted, overTotal = "connection_limit", overAddress = "connection_limit_address" }

    func admit(_ address: String) -> Verdict {
        lock.withLock {
            if total >= limits.maxConnections { return .overTotal }
            if perAddress[address, default: 0] >= limits.maxConnectionsPerAddress { return .overAddress }
            total += 1
            perAddress[address, default: 0] += 1
            return .admitted
        }
    }

    func release(_ address: String) {
        lock.withLock {
            total -= 1
            let n = perAddress[address, default: 1] - 1
            perAddress[address] = n > 0 ? n : nil
        }
    }

    public var open: Int { lock.withLock { total } }
}
