/// A profile or variable problem: names the profile, the field and, for files, the line, plus the way out.
/// `profile site-gateway.yaml:12:3: field "listen_port": 70000 is not a port (1…65535)`
public struct WGProfileError: Error, CustomStringConvertible, Equatable {
    public var source: String        // "profile site-gateway.yaml", "--var", "vars file site.yaml"
    public var line: Int?
    public var column: Int?
    public var field: String
    public var message: String

    public init(source: String, line: Int? = nil, column: Int? = nil, field: String, message: String) {
        self.source = source
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String {
        var place = source
        if let line { place += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        return "\(place): field \"\(field)\": \(message)"
    }
}
