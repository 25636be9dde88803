/// An init system as data: argv templates ({service}), where units live and what they look like. Resources read
/// these fields and never ask which init system it is; adding one is adding a row.
public struct WGInitSystem: Sendable, Equatable {
    /// How "enabled at boot" is read.
    public enum EnabledCheck: Sendable, Equatable {
        /// `systemctl is-enabled` prints the state; "enabled" is a yes.
        case printsState
        /// `rc-update show default` lists "  service | default" lines.
        case listsRunlevel
    }

    /// How the wg-quick service of an interface comes about.
    public enum TunnelUnit: Sendable, Equatable {
        /// The package ships a template unit (systemd's wg-quick@.service).
        case packaged
        /// One script (written from a template when the distribution ships none) and a link per interface to it.
        case sharedScript(path: String, template: String, link: String)
    }

    public var name: String                  // "systemd", "openrc"
    public var enable: [String]
    public var start: [String]
    public var stop: [String]
    public var restart: [String]
    /// Exit 0 means enabled (see `enabledCheck`).
    public var isEnabledQuery: [String]
    public var enabledCheck: EnabledCheck
    /// Exit 0 means running.
    public var isActiveQuery: [String]
    /// The tunnel's service name for {interface}: `wg-quick@wg0` / `wg-quick.wg0`.
    public var tunnelService: String
    public var tunnelUnit: TunnelUnit
    /// Where a unit of ours goes, its template (Templates/), mode and what to call it.
    public var unitPath: String
    public var unitTemplate: String
    public var unitMode: UInt32
    public var unitKind: String
    /// Run after a unit file changed, before it is (re)started.
    public var reloadUnits: [String]?
    /// The boot link whose presence means enabled (a file fact: no command to read it).
    public var enabledLink: String
    /// A unit the init system must never start (masked), if it has such a thing.
    public var maskedUnit: String?
    /// Whether services a package installs are enabled (or started by udev) without us: systemd's are.
    public var enablesPackagedServices: Bool
    /// Where a failing service's logs are ({service}).
    public var logs: String

    public func wireguardService(_ interface: String) -> String {
        WGArgvTemplate.fill(text: tunnelService, ["interface": interface])
    }

    public func enableArgv(_ service: String) -> [String] { WGArgvTemplate.fill(enable, ["service": service]) }
    public func startArgv(_ service: String) -> [String] { WGArgvTemplate.fill(start, ["service": service]) }
    public func stopArgv(_ service: String) -> [String] { WGArgvTemplate.fill(stop, ["service": service]) }
    public func restartArgv(_ service: String) -> [String] { WGArgvTemplate.fill(restart, ["service": service]) }
    public func isEnabledArgv(_ service: String) -> [String] { WGArgvTemplate.fill(isEnabledQuery, ["service": service]) }
    public func isActiveArgv(_ service: String) -> [String] { WGArgvTemplate.fill(isActiveQuery, ["service": service]) }
    public func unitPath(_ service: String) -> String { WGArgvTemplate.fill(text: unitPath, ["service": service]) }
    public func unitTemplate(_ service: String) -> String { WGArgvTemplate.fill(text: unitTemplate, ["service": service]) }
    public func logs(_ service: String) -> String { WGArgvTemplate.fill(text: logs, ["service": service]) }

    public func isEnabled(_ service: String, result: WGCommandResult) -> Bool {
        switch enabledCheck {
        case .printsState:
            return result.succeeded && result.stdout.wgTrimmed() == "enabled"
        case .listsRunlevel:
            return result.stdout.split(separator: "\n").contains {
                $0.split(separator: "|").first?.wgTrimmed(.whitespaces) == service
            }
        }
    }

    public static let systemd = WGInitSystem(
        name: "systemd",
        enable: ["systemctl", "enable", "{service}"], start: ["systemctl", "start", "{service}"],
        stop: ["systemctl", "stop", "{service}"], restart: ["systemctl", "restart", "{service}"],
        isEnabledQuery: ["systemctl", "is-enabled", "{service}"], enabledCheck: .printsState,
        isActiveQuery: ["systemctl", "is-active", "--quiet", "{service}"],
        tunnelService: "wg-quick@{interface}", tunnelUnit: .packaged,
        unitPath: "/etc/systemd/system/{service}.service", unitTemplate: "{service}.service.mustache",
        unitMode: 0o644, unitKind: "systemd unit", reloadUnits: ["systemctl", "daemon-reload"],
        enabledLink: "/etc/systemd/system/multi-user.target.wants/{service}.service",
        maskedUnit: "/etc/systemd/system/{service}.service",
        enablesPackagedServices: true, logs: "journalctl -u {service}")

    public static let openrc = WGInitSystem(
        name: "openrc",
        enable: ["rc-update", "add", "{service}", "default"], start: ["rc-service", "{service}", "start"],
        stop: ["rc-service", "{service}", "stop"], restart: ["rc-service", "{service}", "restart"],
        isEnabledQuery: ["rc-update", "show", "default"], enabledCheck: .listsRunlevel,
        isActiveQuery: ["rc-service", "{service}", "status"],
        tunnelService: "wg-quick.{interface}",
        // Alpine's wireguard-tools-openrc has this script; Debian's wireguard-tools does not.
        tunnelUnit: .sharedScript(path: "/etc/init.d/wg-quick", template: "openrc-wg-quick.mustache", link: "wg-quick"),
        unitPath: "/etc/init.d/{service}", unitTemplate: "openrc-{service}.mustache",
        unitMode: 0o755, unitKind: "OpenRC script", reloadUnits: nil,
        enabledLink: "/etc/runlevels/default/{service}", maskedUnit: nil,
        enablesPackagedServices: false, logs: "/var/log/messages")
}
