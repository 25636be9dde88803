import Foundation

/// Events per key in a sliding window, e.g. failed enrollments per address. Memory is bounded: at most `maxKeys`
/// keys (the stalest go first) and `2 × limit` timestamps per key.
final class WGWindowCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [String: [Date]] = [:]
    let limit: Int
    let window: TimeInterval
    let maxKeys: Int

    init(limit: Int, window: TimeInterval, maxKeys: Int = 10_000) {
        self.limit = max(1, limit)
        self.window = window
        self.maxKeys = maxKeys
    }

    func count(_ key: String, now: Date = Date()) -> Int {
        lock.withLock {
            let recent = (events[key] ?? []).filter { now.timeIntervalSince($0) < window }
            events[key] = recent.isEmpty ? nil : recent
            return recent.count
        }
    }

    func isOver(_ key: String, now: Date = Date()) -> Bool { count(key, now: now) >= limit }

    func record(_ key: String, now: Date = Date()) {
        lock.withLock {
            if events[key] == nil && events.count >= maxKeys {
                let stalest = events.sorted { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) }
                for (k, _) in stalest.prefix(maxKeys / 10 + 1) { events[k] = nil }
            }
            var list = events[key, default: []].filter { now.timeIntervalSince($0) < window }
            list.append(now)
            if list.count > limit * 2 { list.removeFirst(list.count - limit * 2) }
            events[key] = list
        }
    }

    /// Records and tells whether the key is now over the limit (for throttles that count every attempt).
    func take(_ key: String, now: Date = Date()) -> Bool {
        if isOver(key, now: now) { return false }
        record(key, now: now)
        return true
    }
}
