import WGProvision

/// The name this machine enrolls under: /etc/hostname, else the kernel's, else "wgagent-site".
public enum WGMachineName {
    public static func read(_ host: WGHost) -> String {
        for path in ["/etc/hostname", "/proc/sys/kernel/hostname"] {
            if let text = try? host.readText(path) {
                // The short name: the hub shows it, and a domain adds nothing there.
                let name = text.wgTrimmed().split(separator: ".").first.map(String.init) ?? ""
                if !name.isEmpty { return name }
            }
        }
        return "wgagent-site"
    }
}
