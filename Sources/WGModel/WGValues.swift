/// Parsers for the small scalar values of wg-quick files. Each returns nil or throws a reason
/// (without the value: the caller names it with source, line and key).
enum WGValues {
    /// Like `wg`: "off" (0), decimal, or 0x-hex, fitting 32 bits.
    static func fwMark(_ text: String) -> UInt32? {
        let t = text.lowercased()
        if t == "off" { return 0 }
        if t.hasPrefix("0x") { return t.count > 2 ? UInt32(t.dropFirst(2), radix: 16) : nil }
        guard t.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt32(t)
    }

    static func decimal(_ text: String, _ range: ClosedRange<Int>) -> Int? {
        guard !text.isEmpty, text.count <= 10, text.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(text),
              range.contains(v) else { return nil }
        return v
    }

    /// wg-quick's Table: off, auto, a number, or a table name.
    static func isTable(_ text: String) -> Bool {
        let t = text.lowercased()
        if t == "off" || t == "auto" { return true }
        if t.allSatisfy({ $0.isASCII && $0.isNumber }) { return UInt32(t) != nil }
        return !t.isEmpty && t.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    /// wg-quick's read_bool: exactly true or false, any case.
    static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }

    /// Split "a, b ,c" the way wg-quick and wg do (commas, surrounding spaces dropped).
    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
    }
}

extension StringProtocol {
    var trimmingSpaces: SubSequence {
        var s = self[...]
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
