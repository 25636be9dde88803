import Foundation
import WGModel

/// Failed attempts (enrollments, or credentials and admin tokens) counted per source address, per network
/// (/24, /64: one machine has many addresses) and overall. Past a limit the source gets 429 until its failures
/// age out. The overall ceiling is a lockdown, not a wall: the caller still answers a request that carries a
/// valid secret (see `WGHubService.enroll`), so a flood from many networks cannot lock real sites out.
public final class WGFailureRateLimiter: @unchecked Sendable {
    public enum Verdict: String, Sendable { case allowed, address, network, global }
    public let limit: Int
    public let window: TimeInterval
    let perAddress: WGWindowCounter
    let perNetwork: WGWindowCounter
    let overall: WGWindowCounter?

    public init(limit: Int, window: TimeInterval, networkLimit: Int? = nil, globalLimit: Int? = nil) {
        self.limit = limit
        self.window = window
        perAddress = WGWindowCounter(limit: limit, window: window)
        perNetwork = WGWindowCounter(limit: networkLimit ?? limit * 3, window: window)
        overall = globalLimit.map { WGWindowCounter(limit: $0, window: window, maxKeys: 1) }
    }

    public func verdict(_ address: String, now: Date = Date()) -> Verdict {
        if perAddress.isOver(address, now: now) { return .address }
        if perNetwork.isOver(Self.network(address), now: now) { return .network }
        if let overall, overall.isOver("*", now: now) { return .global }
        return .allowed
    }

    public func isLimited(_ address: String, now: Date = Date()) -> Bool { verdict(address, now: now) != .allowed }

    public func recordFailure(_ address: String, now: Date = Date()) {
        perAddress.record(address, now: now)
        perNetwork.record(Self.network(address), now: now)
        overall?.record("*", now: now)
    }

    /// The /24 (IPv4) or /64 (IPv6) an address is in; the address itself when it is not one.
    static func network(_ address: String) -> String {
        guard let a = try? WGIPAddress(address), let c = try? WGCIDR(address: a, prefixLength: a.isIPv6 ? 64 : 24) else { return address }
        return c.network.description
    }
}
