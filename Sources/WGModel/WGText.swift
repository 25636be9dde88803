#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few string helpers the agent used from full Foundation (trimming, paths, printf-style numbers).
/// FoundationEssentials has none of them, and full Foundation brings ICU (34 MB) into the agent binary.
/// Named `wg…` so they never clash with Foundation's in code that imports both (the tests, the hub).
public enum WGTrim: Sendable {
    /// Spaces and tabs (Foundation's `.whitespaces` for the text we handle).
    case whitespaces
    /// Spaces, tabs, CR and LF (`.whitespacesAndNewlines`).
    case whitespacesAndNewlines
    /// These characters only, e.g. `"\" "` for a quoted shell-style value.
    case characters(String)

    func contains(_ c: Character) -> Bool {
        switch self {
        case .whitespaces: return c == " " || c == "\t" || (c.isWhitespace && !c.isNewline)
        case .whitespacesAndNewlines: return c.isWhitespace
        case .characters(let s): return s.contains(c)
        }
    }
}

extension StringProtocol {
    /// `self` without leading and trailing characters of `set`.
    public func wgTrimmed(_ set: WGTrim = .whitespacesAndNewlines) -> String {
        guard let first = firstIndex(where: { !set.contains($0) }) else { return "" }
        let last = lastIndex(where: { !set.contains($0) })!
        return String(self[first...last])
    }
}

extension StringProtocol {
    /// Exactly `width` characters: cut, or filled with spaces (Foundation's `padding(toLength:withPad:startingAt:)`).
    public func wgPadded(_ width: Int) -> String {
        count >= width ? String(prefix(width)) : String(self) + String(repeating: " ", count: width - count)
    }
}

public enum WGText {
    /// `s` as one word for a POSIX shell: as it is when made only of characters no shell treats specially, else in
    /// single quotes (a quote inside written `'\''`). What a person pastes must run exactly this argv: no
    /// expansion, no command substitution, no extra option.
    public static func shellQuoted(_ s: String) -> String {
        if !s.isEmpty && s.unicodeScalars.allSatisfy({ $0.isASCII && (isAlphanumeric($0) || "-_./=:@,+%".unicodeScalars.contains($0)) }) {
            return s
        }
        return "'" + s.replacing("'", with: "'\\''") + "'"
    }

    /// True when `s` is text a person reads on one line: no control character (C0, DEL, C1: escape sequences, CR,
    /// LF, TAB), no format character (bidi overrides, zero-width), no line or paragraph separator.
    public static func isPrintable(_ s: String) -> Bool { !s.unicodeScalars.contains(where: isUnprintable) }

    /// `s` with each unprintable character (see `isPrintable`) replaced by a space.
    public static func printable(_ s: String) -> String {
        isPrintable(s) ? s : String(String.UnicodeScalarView(s.unicodeScalars.map { isUnprintable($0) ? " " : $0 }))
    }

    static func isUnprintable(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// `s` safe to print on a terminal: control and format characters written as escapes (`\n`, `\r`, `\t`,
    /// `\x1b`, `\u{202e}`) and a backslash as `\\`, so stored text can neither move the cursor, recolour, nor forge a line.
    public static func terminalSafe(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0 == "\\" || isUnprintable($0) }) else { return s }
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where c.value < 0x100 && isUnprintable(c): out += "\\x" + hex([UInt8(c.value)])
            case _ where isUnprintable(c): out += "\\u{" + String(c.value, radix: 16) + "}"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// An argv as one line to paste into a shell.
    public static func shellLine(_ argv: [String]) -> String { argv.map(shellQuoted).joined(separator: " ") }

    private static func isAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
    }

    /// Lowercase hex of bytes ("%02x" each).
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// A number padded with zeros to `width` digits ("%012lld").
    public static func zeroPadded(_ n: Int64, width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// One decimal ("%.1f"), rounded half away from zero.
    public static func oneDecimal(_ x: Double) -> String {
        guard x.isFinite else { return "\(x)" }
        let tenths = (abs(x) * 10).rounded()
        let whole = Int64(tenths / 10), frac = Int64(tenths.truncatingRemainder(dividingBy: 10))
        return (x < 0 && tenths > 0 ? "-" : "") + "\(whole).\(frac)"
    }

    /// UTC time as `yyyyMMdd'T'HHmmss'Z'` (backup file names), without a DateFormatter (ICU).
    public static func utcStamp(secondsSince1970 t: Double) -> String {
        var secs = time_t(t.rounded(.down))
        var tm = tm()
        gmtime_r(&secs, &tm)
        func d(_ v: Int32, _ w: Int) -> String { zeroPadded(Int64(v), width: w) }
        return d(tm.tm_year + 1900, 4) + d(tm.tm_mon + 1, 2) + d(tm.tm_mday, 2) + "T"
            + d(tm.tm_hour, 2) + d(tm.tm_min, 2) + d(tm.tm_sec, 2) + "Z"
    }
}

/// Path pieces as NSString's `lastPathComponent` / `deletingLastPathComponent` give them.
public enum WGPath {
    public static func lastComponent(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        if p == "/" { return "/" }
        if let slash = p.lastIndex(of: "/") { return String(p[p.index(after: slash)...]) }
        return String(p)
    }

    public static func deletingLastComponent(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "" }
        if slash == p.startIndex { return "/" }
        var dir = p[..<slash]
        while dir.count > 1 && dir.hasSuffix("/") { dir = dir.dropLast() }
        return String(dir)
    }
}
