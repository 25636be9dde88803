/// A problem at one line of a config file, printed like a compiler error:
/// `wg0.conf:12: AllowedIPs "10.0.0.0/33": prefix length must be 0…32`.
public struct WGConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public let source: String
    public let line: Int
    /// The key as written in the file, or the section header (`[Peer]`) for section problems.
    public let key: String
    /// The offending value when it is safe to show (never for keys: they may be secret).
    public let value: String?
    public let message: String

    public init(source: String, line: Int, key: String, value: String? = nil, message: String) {
        self.source = source
        self.line = line
        self.key = key
        self.value = value
        self.message = message
    }

    public var description: String {
        if let value { return "\(source):\(line): \(key) \"\(value)\": \(message)" }
        return "\(source):\(line): \(key): \(message)"
    }
}
