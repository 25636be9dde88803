/// DNS name syntax (RFC 1123): labels of 1…63 letters, digits and hyphens, not starting or
/// ending with a hyphen, 253 characters at most, one optional trailing dot.
enum WGHostname {
    static func problem(_ name: String) -> String? {
        var n = Substring(name)
        if n.hasSuffix(".") { n = n.dropLast() }
        guard !n.isEmpty else { return "empty host name" }
        guard n.count <= 253 else { return "host name longer than 253 characters" }
        let labels = n.split(separator: ".", omittingEmptySubsequences: false)
        for l in labels {
            guard !l.isEmpty else { return "empty label (two dots in a row?)" }
            guard l.count <= 63 else { return "label \"\(l)\" is longer than 63 characters" }
            guard l.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                return "label \"\(l)\" may hold only letters, digits and hyphens"
            }
            guard !l.hasPrefix("-"), !l.hasSuffix("-") else { return "label \"\(l)\" starts or ends with a hyphen" }
        }
        // An all-numeric name is a mistyped IPv4 address, not a host name.
        if labels.last!.allSatisfy({ $0.isNumber }) { return "looks like an IPv4 address but is not one (four numbers 0…255)" }
        return nil
    }
}
