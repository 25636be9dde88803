/// How a distribution creates users and groups, as argv templates ({user}, {group}, {shell}, {admin}).
public struct WGUserTools: Sendable, Equatable {
    /// The admin user in a new group of its own name, and in the admin group.
    public var createWithOwnGroup: [[String]]
    /// The same when a group of the user's name is already there.
    public var createInExistingGroup: [[String]]
    public var addToGroup: [String]
    public var lockPassword: [String]

    public static let shadow = WGUserTools(
        createWithOwnGroup: [["useradd", "--create-home", "--shell", "{shell}", "--user-group", "--groups", "{admin}", "{user}"]],
        createInExistingGroup: [["useradd", "--create-home", "--shell", "{shell}", "--gid", "{user}", "--groups", "{admin}", "{user}"]],
        addToGroup: ["usermod", "-a", "-G", "{group}", "{user}"],
        lockPassword: ["passwd", "-l", "{user}"])

    public static let busybox = WGUserTools(
        createWithOwnGroup: [["addgroup", "{user}"], ["adduser", "-D", "-s", "{shell}", "-G", "{user}", "{user}"], ["adduser", "{user}", "{admin}"]],
        createInExistingGroup: [["adduser", "-D", "-s", "{shell}", "-G", "{user}", "{user}"], ["adduser", "{user}", "{admin}"]],
        addToGroup: ["adduser", "{user}", "{group}"],
        lockPassword: ["passwd", "-l", "{user}"])
}
