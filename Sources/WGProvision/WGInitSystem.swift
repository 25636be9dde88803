/// An init system as data: how to enable, start, restart and query a service.
public struct WGInitSystem: Sendable, Equatable {
    public var name: String                  // "systemd", "openrc"
    public var isSystemd: Bool { name == "systemd" }

    /// The wg-quick service for an interface: `wg-quick@wg0` / `wg-quick.wg0`.
    public func wireguardService(_ interface: String) -> String {
        isSystemd ? "wg-quick@\(interface)" : "wg-quick.\(interface)"
    }

    public func enableArgv(_ service: String) -> [String] {
        isSystemd ? ["systemctl", "enable", service] : ["rc-update", "add", service, "default"]
    }
    public func startArgv(_ service: String) -> [String] {
        isSystemd ? ["systemctl", "start", service] : ["rc-service", service, "start"]
    }
    public func stopArgv(_ service: String) -> [String] {
        isSystemd ? ["systemctl", "stop", service] : ["rc-service", service, "stop"]
    }
    public func restartArgv(_ service: String) -> [String] {
        isSystemd ? ["systemctl", "restart", service] : ["rc-service", service, "restart"]
    }
    /// Exit 0 means enabled; systemd also prints the state.
    public func isEnabledArgv(_ service: String) -> [String] {
        isSystemd ? ["systemctl", "is-enabled", service] : ["rc-update", "show", "default"]
    }
    /// Exit 0 means running.
    public func isActiveArgv(_ service: String) -> [String] {
        isSystemd ? ["systemctl", "is-active", "--quiet", service] : ["rc-service", service, "status"]
    }

    public func isEnabled(_ service: String, result: WGCommandResult) -> Bool {
        if isSystemd {
            return result.succeeded && result.stdout.wgTrimmed() == "enabled"
        }
        // `rc-update show default` lists "  wg-quick.wg0 | default".
        return result.stdout.split(separator: "\n").contains {
            $0.split(separator: "|").first?.wgTrimmed(.whitespaces) == service
        }
    }

    public static let systemd = WGInitSystem(name: "systemd")
    public static let openrc = WGInitSystem(name: "openrc")
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
