#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The admin user (`wgadmin`): its own group, the distribution's admin group (sudo / wheel), a sudoers
/// drop-in, password locked (log in with the SSH key), optional authorized key.
public struct WGAdminUserResource: WGResource {
    public let name = "admin-user"
    public init() {}

    struct Account { var uid: UInt32; var gid: UInt32; var home: String }

    static func account(_ user: String, passwd: String) -> Account? {
        for line in passwd.split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 7, f[0] == user, let uid = UInt32(f[2]), let gid = UInt32(f[3]) {
                return Account(uid: uid, gid: gid, home: String(f[5]))
            }
        }
        return nil
    }

    static func groupMembers(_ group: String, in text: String) -> [String]? {
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 4, f[0] == group { return f[3].split(separator: ",").map(String.init) }
        }
        return nil
    }

    static func passwordLocked(_ user: String, shadow: String) -> Bool {
        for line in shadow.split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 2, f[0] == user { return f[1].hasPrefix("!") || f[1] == "*" }
        }
        return false
    }

    public func plan(_ ctx: WGContext) throws -> WGResourcePlan {
        guard let user = ctx.spec.adminUser else { return .ok("no admin user in this profile") }
        let platform = ctx.facts.platform
        let passwd = try ctx.host.readText("/etc/passwd") ?? ""
        let group = try ctx.host.readText("/etc/group") ?? ""
        let shadow = try ctx.host.readText("/etc/shadow") ?? ""
        var changes: [WGChange] = []
        let account = Self.account(user, passwd: passwd)
        let adminGroup = platform.adminGroup
        if account == nil {
            let groupExists = Self.groupMembers(user, in: group) != nil
            for argv in platform.createUserArgv(user, groupExists: groupExists) {
                changes.append(WGChange("create user \(user)", .run(argv)))
            }
            changes.append(WGChange("lock \(user)'s password (log in with an SSH key)", .run(platform.lockPasswordArgv(user))))
        } else {
            if !(Self.groupMembers(adminGroup, in: group) ?? []).contains(user) {
                changes.append(WGChange("add \(user) to \(adminGroup)", .run(platform.addToGroupArgv(user, group: adminGroup))))
            }
            if !Self.passwordLocked(user, shadow: shadow) {
                changes.append(WGChange("lock \(user)'s password (log in with an SSH key)", .run(platform.lockPasswordArgv(user))))
            }
        }
        // The password is locked, so sudo must not ask for one; visudo-checked content from Templates/.
        let sudoers = try WGTemplates.render(ctx.files.template("sudoers.mustache"), ["user": user])
        if !ctx.host.fileExists("/etc/sudoers.d") { changes.append(WGChange("create /etc/sudoers.d", .makeDirectory(path: "/etc/sudoers.d", permissions: 0o750))) }
        changes += try ctx.fileChanges("/etc/sudoers.d/wgagent-\(user)", contents: sudoers, permissions: 0o440, what: "sudoers drop-in")

        if let key = ctx.spec.adminSSHKey {
            let home = account?.home ?? "/home/\(user)"
            let ssh = home + "/.ssh", keys = ssh + "/authorized_keys"
            changes += ctx.directoryChanges(ssh, permissions: 0o700)
            let existing = try ctx.host.readText(keys) ?? ""
            let lines = existing.split(separator: "\n").map(String.init)
            if !lines.contains(key) {
                // Add the key; keep any keys the user put there.
                let text = (lines + [key]).joined(separator: "\n") + "\n"
                changes += try ctx.fileChanges(keys, contents: text, permissions: 0o600, what: "authorized key for \(user)")
            } else if let info = ctx.host.fileInfo(keys), info.permissions != 0o600 {
                changes.append(WGChange("set mode 0600 on \(keys)", .setPermissions(path: keys, permissions: 0o600)))
            }
            let owned = [ssh, keys].allSatisfy { p in
                guard let info = ctx.host.fileInfo(p), let account else { return false }
                return info.uid == account.uid
            }
            if !owned || !changes.isEmpty && changes.contains(where: { $0.path == keys || $0.path == ssh }) {
                changes.append(WGChange("give \(ssh) to \(user)", .run(["chown", "-R", "\(user):\(user)", ssh])))
            }
        }
        if changes.isEmpty {
            return .ok("\(user) exists, in \(adminGroup), password locked, sudo drop-in in place")
        }
        return .change(account == nil ? "no user \(user)" : "\(user) differs from the profile", changes)
    }
}
