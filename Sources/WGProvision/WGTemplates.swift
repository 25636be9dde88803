import Mustache

/// Renders Templates/ files. Mustache escapes HTML by default; config files are not HTML, so the
/// content type is switched to text for every template.
public enum WGTemplates {
    public static func render(_ template: String, _ context: [String: Any]) throws -> String {
        do {
            let t = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + template)
            return t.render(context)
        } catch {
            throw WGHostError("template error: \(error)")
        }
    }
}
