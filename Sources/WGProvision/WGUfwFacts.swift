/// ufw as it is on this machine, read once the same way for the firewall resource, the doctor and health reports:
/// from its files (and one `iptables`) where they are there, else from `ufw` itself (Python: slow).
public struct WGUfwFacts: Sendable, Equatable {
    /// Default policies as ufw names them: "deny", "allow", "reject", or "" when the file does not say.
    public struct Defaults: Sendable, Equatable {
        public var incoming: String
        public var outgoing: String
        public var routed: String
    }

    public var installed: Bool
    public var active: Bool
    /// The added rules as `ufw show added` prints them, without the leading "ufw ".
    public var rules: [String]
    public var defaults: Defaults

    /// What forwarded packets meet when no route rule matches: ufw's own default is deny.
    public var routedPolicy: String { ["allow", "reject"].contains(defaults.routed) ? defaults.routed : "deny" }

    public static func read(_ host: WGHost) throws -> WGUfwFacts {
        guard host.hasCommand("ufw") else {
            return WGUfwFacts(installed: false, active: false, rules: [], defaults: Defaults(incoming: "", outgoing: "", routed: ""))
        }
        let fromFile = WGFileFacts.ufwAddedRules(host)
        let rules = try fromFile ?? addedRules(host.run(["ufw", "show", "added"]).stdout)
        let active: Bool
        if host.root == "/" {
            active = try (fromFile != nil ? WGFileFacts.ufwActive(host) : nil)
                ?? host.run(["ufw", "status"]).stdout.contains("Status: active")
        } else {
            // An image, not running: what it will be at boot.
            active = (try host.readText("/etc/ufw/ufw.conf") ?? "").contains("ENABLED=yes")
        }
        return WGUfwFacts(installed: true, active: active, rules: rules, defaults: defaults(try host.readText("/etc/default/ufw") ?? ""))
    }

    /// `ufw show added` output → rules without "ufw ".
    static func addedRules(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            let l = line.wgTrimmed(.whitespaces)
            return l.hasPrefix("ufw ") ? String(l.dropFirst(4)) : nil
        }
    }

    /// /etc/default/ufw's DEFAULT_*_POLICY values (DROP, ACCEPT, REJECT) as ufw's words.
    static func defaults(_ text: String) -> Defaults {
        func value(_ key: String) -> String {
            for line in text.split(separator: "\n") where line.hasPrefix(key + "=") {
                let v = line.dropFirst(key.count + 1).wgTrimmed(.characters("\" "))
                switch v.uppercased() { case "DROP": return "deny"; case "ACCEPT": return "allow"; case "REJECT": return "reject"; default: return v.lowercased() }
            }
            return ""
        }
        return Defaults(incoming: value("DEFAULT_INPUT_POLICY"), outgoing: value("DEFAULT_OUTPUT_POLICY"),
                        routed: value("DEFAULT_FORWARD_POLICY"))
    }
}
