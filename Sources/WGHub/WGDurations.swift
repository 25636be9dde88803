import Foundation

/// Durations as the CLI takes them: `90s`, `15m`, `24h`, `7d`, or plain seconds.
public enum WGDurations {
    /// `allowZero`: where 0 means "at once" (alert grace, hold-down), `0`, `0s` and `0m` are all 0; elsewhere
    /// (timeouts, TTLs) a duration is positive.
    public static func parse(_ text: String, allowZero: Bool = false) -> TimeInterval? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let last = t.last else { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800]
        let mult = units[last]
        guard let v = Double(mult == nil ? Substring(t) : t.dropLast()), v.isFinite, v > 0 || (allowZero && v == 0) else { return nil }
        return v * (mult ?? 1)
    }

    public static func describe(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
