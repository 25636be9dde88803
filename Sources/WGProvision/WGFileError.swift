/// A file operation of a host that failed: the operation, the path inside the managed system, and why.
public enum WGFileError: Error, CustomStringConvertible, Equatable, Sendable {
    case read(path: String, reason: String)
    case create(path: String, reason: String)
    case write(path: String, reason: String)
    case replace(path: String, reason: String)
    case makeDirectory(path: String, reason: String)
    case chmod(path: String, permissions: UInt32, reason: String)
    case link(path: String, target: String, reason: String)
    case remove(path: String, reason: String)

    public var path: String {
        switch self {
        case .read(let p, _), .create(let p, _), .write(let p, _), .replace(let p, _), .makeDirectory(let p, _),
             .chmod(let p, _, _), .link(let p, _, _), .remove(let p, _): return p
        }
    }

    public var description: String {
        switch self {
        case .read(let p, let why): return "cannot read \(p): \(why)"
        case .create(let p, let why): return "cannot create \(p): \(why)"
        case .write(let p, let why): return "cannot write \(p): \(why)"
        case .replace(let p, let why): return "cannot replace \(p): \(why)"
        case .makeDirectory(let p, let why): return "cannot create directory \(p): \(why)"
        case .chmod(let p, let mode, let why): return "cannot chmod \(String(mode, radix: 8)) \(p): \(why)"
        case .link(let p, let target, let why): return "cannot link \(p) -> \(target): \(why)"
        case .remove(let p, let why): return "cannot remove \(p): \(why)"
        }
    }
}
