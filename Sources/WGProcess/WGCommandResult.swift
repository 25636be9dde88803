/// What a command printed (stdout and stderr kept apart) and how it ended.
public struct WGCommandResult: Sendable, Equatable {
    /// The exit status, or 128 + the signal that ended it (as a shell reports it).
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var succeeded: Bool { status == 0 }

    public init(status: Int32 = 0, stdout: String = "", stderr: String = "") {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}
