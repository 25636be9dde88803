/// A template the renderer cannot read: where, and what is wrong with it.
public enum WGTemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// "{{" or "{{{" without its closing braces.
    case unclosedTag(line: Int, opening: String, closing: String)
    /// Partials, delimiter changes, blocks.
    case unsupportedTag(line: Int, tag: String)
    /// "{{/name}}" that closes another section, or none.
    case strayClose(name: String, open: String?)
    case unclosedSection(name: String)

    public var description: String {
        switch self {
        case .unclosedTag(let line, let opening, let closing):
            return "template error: line \(line): \"\(opening)\" is not closed with \"\(closing)\""
        case .unsupportedTag(let line, let tag):
            return "template error: line \(line): {{\(tag)}} (partials, delimiters, blocks) is not supported here"
        case .strayClose(let name, let open):
            return "template error: {{/\(name)}} closes \(open.map { "{{#\($0)}}" } ?? "no section")"
        case .unclosedSection(let name):
            return "template error: {{#\(name)}} is not closed with {{/\(name)}}"
        }
    }
}
