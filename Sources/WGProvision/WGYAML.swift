internal import CYAML

/// A YAML node and where it was written (1-based line and column, as messages print them).
/// libyaml (linked statically) parses; this composes the tree profiles and vars files need. It replaces Yams,
/// which imports full Foundation (and so ICU) into the agent.
public struct WGYAMLNode: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `quoted`: written in quotes or a block (`|`, `>`) or tagged `!!str`; such text is never a bool.
        case scalar(String, quoted: Bool)
        case sequence([WGYAMLNode])
        case mapping(WGYAMLMapping)
    }

    public var kind: Kind
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, line: Int = 0, column: Int = 0) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    /// A plain scalar, e.g. one item of "a, b" split by the caller.
    public init(_ text: String, line: Int = 0, column: Int = 0) {
        self.init(.scalar(text, quoted: false), line: line, column: column)
    }

    /// The text of a scalar as written (numbers and booleans too); nil for lists and mappings.
    public var string: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    /// YAML 1.1 booleans (true/false, yes/no, on/off in any case) of a plain scalar, as Yams read them.
    public var bool: Bool? {
        guard case .scalar(let s, let quoted) = kind, !quoted else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    public var int: Int? {
        guard let s = string else { return nil }
        return Int(s.replacing("_", with: ""))
    }

    public var sequence: [WGYAMLNode]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    public var mapping: WGYAMLMapping? {
        if case .mapping(let m) = kind { return m }
        return nil
    }
}

/// A mapping in the order written; a key given twice is refused when parsing, so lookups are unambiguous.
public struct WGYAMLMapping: Sendable, Equatable, Sequence {
    public var pairs: [Pair]

    public struct Pair: Sendable, Equatable {
        public var key: WGYAMLNode
        public var value: WGYAMLNode
    }

    public subscript(_ key: String) -> WGYAMLNode? {
        pairs.first { $0.key.string == key }?.value
    }

    public func makeIterator() -> AnyIterator<(WGYAMLNode, WGYAMLNode)> {
        var i = pairs.makeIterator()
        return AnyIterator { i.next().map { ($0.key, $0.value) } }
    }
}

/// What libyaml could not read, and where.
public struct WGYAMLError: Error, CustomStringConvertible, Equatable {
    public var line: Int
    public var column: Int
    public var message: String
    public var description: String { "\(line):\(column): \(message)" }
}

public enum WGYAML {
    /// The first document of `text`, or nil when there is none (an empty file or only comments).
    public static func compose(_ text: String) throws -> WGYAMLNode? {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return nil }
        return try bytes.withUnsafeMutableBufferPointer { buf in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else {
                throw WGYAMLError(line: 1, column: 1, message: "libyaml could not start (out of memory)")
            }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var composer = Composer()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { throw error(parser) }
                defer { yaml_event_delete(&event) }
                if try composer.take(event) { break }
            }
            return composer.document
        }
    }

    static func error(_ p: yaml_parser_t) -> WGYAMLError {
        let problem = p.problem.map { String(cString: $0) } ?? "unreadable"
        var message = problem
        if let context = p.context.map({ String(cString: $0) }) {
            message += " (\(context) at \(p.context_mark.line + 1):\(p.context_mark.column + 1))"
        }
        if p.error == YAML_READER_ERROR {
            return WGYAMLError(line: 1, column: 1, message: "\(message) at byte \(p.problem_offset)")
        }
        return WGYAMLError(line: Int(p.problem_mark.line) + 1, column: Int(p.problem_mark.column) + 1, message: message)
    }

    /// Events to nodes: a stack of open sequences and mappings; anchors kept for aliases.
    struct Composer {
        enum Open {
            case sequence(WGYAMLNode, anchor: String?)
            case mapping(WGYAMLNode, anchor: String?, pendingKey: WGYAMLNode?)
        }
        var stack: [Open] = []
        var anchors: [String: WGYAMLNode] = [:]
        var document: WGYAMLNode?

        /// true once the first document is complete (later documents are not read).
        mutating func take(_ e: yaml_event_t) throws -> Bool {
            let line = Int(e.start_mark.line) + 1, column = Int(e.start_mark.column) + 1
            switch e.type {
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_END_EVENT:
                return true
            case YAML_SCALAR_EVENT:
                let s = e.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                let tag = s.tag.map { String(cString: $0) }
                let quoted = s.style != YAML_PLAIN_SCALAR_STYLE || tag == "tag:yaml.org,2002:str"
                try add(WGYAMLNode(.scalar(text, quoted: quoted), line: line, column: column), anchor: Self.text(s.anchor))
            case YAML_SEQUENCE_START_EVENT:
                stack.append(.sequence(WGYAMLNode(.sequence([]), line: line, column: column),
                                       anchor: Self.text(e.data.sequence_start.anchor)))
            case YAML_MAPPING_START_EVENT:
                stack.append(.mapping(WGYAMLNode(.mapping(WGYAMLMapping(pairs: [])), line: line, column: column),
                                      anchor: Self.text(e.data.mapping_start.anchor), pendingKey: nil))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                switch stack.removeLast() {
                case .sequence(let n, let anchor): try add(n, anchor: anchor)
                case .mapping(let n, let anchor, _): try add(n, anchor: anchor)
                }
            case YAML_ALIAS_EVENT:
                let name = Self.text(e.data.alias.anchor) ?? ""
                guard var n = anchors[name] else {
                    throw WGYAMLError(line: line, column: column, message: "alias *\(name) names no anchor before it")
                }
                n.line = line
                n.column = column
                try add(n, anchor: nil)
            default:
                break  // stream and document starts
            }
            return false
        }

        mutating func add(_ node: WGYAMLNode, anchor: String?) throws {
            if let anchor { anchors[anchor] = node }
            guard let top = stack.popLast() else { document = node; return }
            switch top {
            case .sequence(var seq, let a):
                if case .sequence(var items) = seq.kind { items.append(node); seq.kind = .sequence(items) }
                stack.append(.sequence(seq, anchor: a))
            case .mapping(var map, let a, let key):
                guard let key else { stack.append(.mapping(map, anchor: a, pendingKey: node)); return }
                if case .mapping(var m) = map.kind {
                    if let k = key.string, let first = m.pairs.first(where: { $0.key.string == k }) {
                        throw WGYAMLError(line: key.line, column: key.column,
                                          message: "\"\(k)\" is given twice (first at line \(first.key.line)); keep one")
                    }
                    m.pairs.append(.init(key: key, value: node))
                    map.kind = .mapping(m)
                }
                stack.append(.mapping(map, anchor: a, pendingKey: nil))
            }
        }

        static func text(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            p.map { String(cString: $0) }
        }
    }
}
