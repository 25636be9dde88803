/// Mode, owner and kind of a file, as `stat` sees it.
public struct WGFileInfo: Sendable, Equatable {
    public var permissions: UInt32   // the low 12 bits: 0o600, 0o700, …
    public var uid: UInt32
    public var gid: UInt32
    public var isDirectory: Bool
    public var isSymlink: Bool
    public var symlinkTarget: String?

    public init(permissions: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, isDirectory: Bool = false,
                isSymlink: Bool = false, symlinkTarget: String? = nil) {
        self.permissions = permissions
        self.uid = uid
        self.gid = gid
        self.isDirectory = isDirectory
        self.isSymlink = isSymlink
        self.symlinkTarget = symlinkTarget
    }
}
