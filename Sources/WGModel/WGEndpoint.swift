/// A peer endpoint: `host:port`, with IPv6 literals in brackets (`[2001:db8::1]:51820`).
/// `host` is stored without brackets; host names are checked for label syntax, not resolved.
public struct WGEndpoint: Hashable, Sendable, Codable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public init(_ text: String) throws {
        func fail(_ reason: String) -> WGModelError { .invalidEndpoint(text, reason: reason) }
        let hostPart: Substring, portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw fail("missing `]` after the IPv6 address: write [2001:db8::1]:51820") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { throw fail("missing port after `]`: write [2001:db8::1]:51820") }
            portPart = after.dropFirst()
            guard (try? WGIPAddress(String(hostPart)))?.isIPv6 == true else {
                throw fail("brackets must hold an IPv6 address, like [2001:db8::1]:51820")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw fail("missing port: write host:port, like 203.0.113.1:51820") }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw fail("an IPv6 address needs brackets: write [\(hostPart)]:\(portPart)") }
            if hostPart.isEmpty { throw fail("missing host: write host:port, like 203.0.113.1:51820") }
            if hostPart.allSatisfy({ $0.isNumber || $0 == "." }) {
                guard WGIPAddress.parseV4(String(hostPart)) != nil else {
                    throw fail("\"\(hostPart)\" is not an IPv4 address (four numbers 0…255)")
                }
            } else if let problem = WGHostname.problem(String(hostPart)) {
                throw fail("bad host name: \(problem)")
            }
        }
        guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
              let p = Int(portPart), (1...65535).contains(p) else {
            throw fail("port must be 1…65535")
        }
        self.host = String(hostPart)
        self.port = UInt16(p)
    }

    public init(host: String, port: UInt16) throws {
        try self.init(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
    }

    /// The host as an address when it is a literal, nil for a host name.
    public var address: WGIPAddress? { try? WGIPAddress(host) }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
