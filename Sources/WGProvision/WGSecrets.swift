/// Keeps private keys out of diffs, plans and logs.
public enum WGSecrets {
    static let secretKeys = ["privatekey", "presharedkey"]

    /// The text with the values of PrivateKey / PresharedKey lines replaced.
    public static func redactConfig(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let eq = line.firstIndex(of: "=") else { return String(line) }
            let key = line[..<eq].wgTrimmed(.whitespaces).lowercased()
            return secretKeys.contains(key) ? "\(line[..<eq])= (secret, not shown)" : String(line)
        }.joined(separator: "\n")
    }
}
