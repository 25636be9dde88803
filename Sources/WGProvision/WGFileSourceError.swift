/// A template or profile that is not where it was looked for, with the names that are there.
public enum WGFileSourceError: Error, CustomStringConvertible, Equatable, Sendable {
    case noTemplate(name: String, embedded: [String])
    case unreadableProfile(path: String)
    case noProfile(name: String, known: [String])

    public var description: String {
        switch self {
        case .noTemplate(let name, let embedded):
            return "no template \(name) (embedded templates: \(embedded.joined(separator: ", ")))"
        case .unreadableProfile(let path):
            return "cannot read profile file \(path): no such file or not readable"
        case .noProfile(let name, let known):
            return "no profile \"\(name)\"; known profiles: \(known.joined(separator: ", ")) (or give a path to a .yaml file)"
        }
    }
}
