#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a command's text goes: reports on stdout, progress and errors on stderr. `standard` writes to the
/// process's streams; a test passes a sink that records.
public struct WGOutput: Sendable {
    public enum Stream: Sendable { case stdout, stderr }

    /// Writes `text` as it is (callers add the newlines).
    public let write: @Sendable (Stream, String) -> Void

    public init(write: @escaping @Sendable (Stream, String) -> Void) { self.write = write }

    /// stdout and stderr of this process, both unbuffered (whoever waits for a line on a pipe sees it at once).
    public static let standard = WGOutput { stream, text in
        wgWriteAll(stream == .stdout ? 1 : 2, text)
    }

    /// One line on stdout.
    public func line(_ text: String = "") { write(.stdout, text + "\n") }

    /// Text on stdout as it is (no newline added).
    public func text(_ text: String) { write(.stdout, text) }

    /// One line on stderr.
    public func errorLine(_ text: String) { write(.stderr, text + "\n") }

    /// What a command-line parser says on its way out: help on stdout (exit 0), errors and usage on stderr.
    public func exitMessage(_ message: String, exitCode: Int32) {
        guard !message.isEmpty else { return }
        if exitCode == 0 { line(message) } else { errorLine(message) }
    }
}

/// Straight to the descriptor (FileHandle is full Foundation's).
private func wgWriteAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}
