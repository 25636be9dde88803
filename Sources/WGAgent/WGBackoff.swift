/// Exponential backoff with jitter: after the n-th failure in a row, wait a random time between half and all
/// of min(cap, base * 2^(n-1)), so many sites do not all retry at the same moment when the hub comes back.
public struct WGBackoff: Sendable {
    public var base: Double
    public var cap: Double

    public init(base: Double = 2, cap: Double = 300) {
        self.base = base
        self.cap = cap
    }

    /// Seconds to wait after `failures` failures in a row (0 for none); `unit` in 0...1 is the random part.
    public func delay(failures: Int, unit: Double = Double.random(in: 0...1)) -> Double {
        guard failures > 0 else { return 0 }
        let ceiling = min(cap, base * Double(1 << min(failures - 1, 30)))
        return ceiling / 2 + ceiling / 2 * min(max(unit, 0), 1)
    }
}
