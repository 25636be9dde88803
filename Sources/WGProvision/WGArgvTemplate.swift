/// argv with `{name}` placeholders, the form platform and init-system rows keep their commands in. A placeholder
/// is a whole argument, filled with one value: never split, never passed through a shell.
public enum WGArgvTemplate {
    public static func fill(_ template: [String], _ values: [String: String]) -> [String] {
        template.map { arg in
            guard arg.hasPrefix("{"), arg.hasSuffix("}"), let v = values[String(arg.dropFirst().dropLast())] else {
                return fill(text: arg, values)
            }
            return v
        }
    }

    /// `{name}` inside a longer text ("wg-quick@{interface}", "/etc/init.d/{service}").
    public static func fill(text: String, _ values: [String: String]) -> String {
        var out = text
        for (k, v) in values { out = out.replacingAll("{\(k)}", with: v) }
        return out
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
