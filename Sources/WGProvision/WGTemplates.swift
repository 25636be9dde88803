/// Renders Templates/ files: the part of Mustache they use, as text (config files are not HTML, so nothing is
/// escaped). `{{name}}`, `{{.}}`, `{{#name}}…{{/name}}` (a list repeats, a string or mapping renders once with it on
/// the stack, false/missing/empty list renders nothing), `{{^name}}…{{/name}}`, `{{! comment}}`, and Mustache's
/// rule that a section or comment tag alone on its line leaves no line behind.
/// Not swift-mustache: it imports full Foundation (7 files, unconditionally), which brings ICU into the agent.
/// Partials, lambdas and delimiter changes are refused rather than half-supported.
public enum WGTemplates {
    public static func render(_ template: String, _ context: [String: Any]) throws -> String {
        let tokens = try tokenize(template)
        var out = ""
        var i = 0
        try renderTokens(tokens, &i, stack: [context], until: nil, into: &out, emit: true)
        return out
    }

    enum Token {
        case text(String)
        case variable(String)
        case section(String, inverted: Bool)
        case close(String)
    }

    /// Splits the template into tokens; standalone section/close/comment lines lose their indentation and newline.
    static func tokenize(_ template: String) throws -> [Token] {
        var tokens: [Token] = []
        let chars = Array(template)
        var text = ""
        var i = 0
        var line = 1
        var textStartsLine = true   // the pending text begins at the start of a line (no tag before it there)
        func lineStartIndex(_ s: String) -> String.Index? {
            // The text since the line began must be blanks only for a standalone tag.
            guard let start = s.lastIndex(of: "\n").map({ s.index(after: $0) }) ?? (textStartsLine ? s.startIndex : nil) else { return nil }
            return s[start...].allSatisfy { $0 == " " || $0 == "\t" } ? start : nil
        }
        while i < chars.count {
            if chars[i] == "{", i + 1 < chars.count, chars[i + 1] == "{" {
                var j = i + 2
                var triple = false
                if j < chars.count, chars[j] == "{" { triple = true; j += 1 }
                var inner = ""
                while j + 1 < chars.count, !(chars[j] == "}" && chars[j + 1] == "}") { inner.append(chars[j]); j += 1 }
                guard j + 1 < chars.count else {
                    throw WGTemplateError.unclosedTag(line: line, opening: "{{", closing: "}}")
                }
                j += 2
                if triple {
                    guard j < chars.count, chars[j] == "}" else {
                        throw WGTemplateError.unclosedTag(line: line, opening: "{{{", closing: "}}}")
                    }
                    j += 1
                }
                let tag = inner.wgTrimmedSpaces
                let sigil = triple ? "&" : tag.first.map(String.init) ?? ""
                let name = ("#^/!&".contains(sigil) && !triple ? String(tag.dropFirst()) : tag).wgTrimmedSpaces
                let structural = "#^/!".contains(sigil) && !triple
                // Standalone: only blanks before it on its line and only blanks, then a newline or the end, after.
                var k = j
                while k < chars.count, chars[k] == " " || chars[k] == "\t" { k += 1 }
                let endsLine = k == chars.count || chars[k] == "\n" || (chars[k] == "\r" && k + 1 < chars.count && chars[k + 1] == "\n")
                var standalone = false
                if structural, endsLine, let start = lineStartIndex(text) {
                    text.removeSubrange(start...)
                    if k < chars.count { k += chars[k] == "\r" ? 2 : 1; line += 1 }
                    j = k
                    standalone = true
                }
                if !text.isEmpty { tokens.append(.text(text)); text = "" }
                textStartsLine = standalone
                switch triple ? "&" : sigil {
                case "#": tokens.append(.section(name, inverted: false))
                case "^": tokens.append(.section(name, inverted: true))
                case "/": tokens.append(.close(name))
                case "!": break
                case "&": tokens.append(.variable(name))
                case ">", "=", "$", "<":
                    throw WGTemplateError.unsupportedTag(line: line, tag: tag)
                default: tokens.append(.variable(tag))
                }
                line += inner.filter { $0 == "\n" }.count
                i = j
            } else {
                if chars[i] == "\n" { line += 1 }
                text.append(chars[i])
                i += 1
            }
        }
        if !text.isEmpty { tokens.append(.text(text)) }
        return tokens
    }

    /// Renders from `i` up to the close of `until` (or the end); with `emit` false it only skips the section.
    static func renderTokens(_ tokens: [Token], _ i: inout Int, stack: [Any], until: String?, into out: inout String, emit: Bool) throws {
        while i < tokens.count {
            let token = tokens[i]
            i += 1
            switch token {
            case .text(let s):
                if emit { out += s }
            case .variable(let name):
                if emit, let v = lookup(name, stack) { out += text(v) }
            case .close(let name):
                guard name == until else {
                    throw WGTemplateError.strayClose(name: name, open: until)
                }
                return
            case .section(let name, let inverted):
                let start = i
                let value = emit ? lookup(name, stack) : nil
                let items = emit ? Self.items(value) : []
                if !emit || inverted {
                    try renderTokens(tokens, &i, stack: stack, until: name, into: &out, emit: emit && inverted && items.isEmpty)
                } else if items.isEmpty {
                    try renderTokens(tokens, &i, stack: stack, until: name, into: &out, emit: false)
                } else {
                    for item in items {
                        i = start
                        try renderTokens(tokens, &i, stack: item.map { stack + [$0] } ?? stack, until: name, into: &out, emit: true)
                    }
                }
            }
        }
        if let until { throw WGTemplateError.unclosedSection(name: until) }
    }

    /// What a section renders once per: each element of a list; a bool true once with the same stack (nil);
    /// any other value once with it pushed.
    static func items(_ value: Any?) -> [Any?] {
        switch value {
        case .none: return []
        case let b as Bool: return b ? [nil] : []
        case let list as [Any]: return list.map { Optional($0) }
        case .some(let v): return [v]
        }
    }

    static func lookup(_ name: String, _ stack: [Any]) -> Any? {
        if name == "." { return stack.last }
        let parts = name.split(separator: ".").map(String.init)
        for frame in stack.reversed() {
            if let dict = frame as? [String: Any], var v = dict[parts[0]] {
                for p in parts.dropFirst() {
                    guard let d = v as? [String: Any], let next = d[p] else { return nil }
                    v = next
                }
                return v
            }
        }
        return nil
    }

    static func text(_ v: Any) -> String {
        switch v {
        case let s as String: return s
        case let s as any CustomStringConvertible: return s.description
        default: return "\(v)"
        }
    }
}

extension String {
    fileprivate var wgTrimmedSpaces: String {
        guard let a = firstIndex(where: { $0 != " " && $0 != "\t" }), let b = lastIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        return String(self[a...b])
    }
}
