#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// posix_spawn with pipes: argv only, no shell; stdout and stderr read together so neither can fill and block.
enum WGSpawn {
    static func run(executable: String, argv: [String], environment: [String], input: Data?,
                    onLine: ((String) -> Void)?) throws -> WGCommandResult {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0], inPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0, pipe(&inPipe) == 0 else {
            throw WGHostError("cannot create pipes: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec: the child gets only the dup2'd ends, never a sibling's pipe (or it would never see EOF).
        for fd in outPipe + errPipe + inPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Children start with default signal handling even if we ignore SIGPIPE.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF))

        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { (cArgv + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attr, cArgv, cEnv)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw WGHostError("cannot run \(argv[0]): \(String(cString: strerror(rc)))")
        }
        // stdin is written from the same poll loop as the output is read (non-blocking), so a large input cannot
        // deadlock against full output pipes, and no thread is started per command.
        signal(SIGPIPE, SIG_IGN)
        let input = [UInt8](input ?? Data())
        var written = 0
        var stdinFD: Int32 = inPipe[1]
        if input.isEmpty { close(stdinFD); stdinFD = -1 } else { _ = fcntl(stdinFD, F_SETFL, fcntl(stdinFD, F_GETFL) | O_NONBLOCK) }

        var out = Data(), err = Data()
        var lineBuffer = Data()
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0),
                   pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)]
        var open = 2
        var chunk = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 { if errno == EINTR { continue }; break }
            if fds[2].fd >= 0 && fds[2].revents != 0 {
                let n = input.withUnsafeBytes { write(stdinFD, $0.baseAddress! + written, input.count - written) }
                if n > 0 { written += n }
                if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) || fds[2].revents & Int16(POLLOUT) == 0 {
                    close(stdinFD); fds[2].fd = -1
                }
            }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let got = read(fds[i].fd, &chunk, chunk.count)
                if got > 0 {
                    let data = Data(chunk[0..<got])
                    if i == 0 { out.append(data) } else { err.append(data) }
                    if let onLine {
                        lineBuffer.append(data)
                        while let nl = lineBuffer.firstIndex(of: 10) {
                            let line = String(decoding: lineBuffer[lineBuffer.startIndex..<nl], as: UTF8.self)
                            lineBuffer.removeSubrange(lineBuffer.startIndex...nl)
                            onLine(line)
                        }
                    }
                } else if got == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(fds[i].fd)
                    fds[i].fd = -1
                    open -= 1
                }
            }
        }
        if fds[2].fd >= 0 { close(fds[2].fd) }  // the child ended without reading all its input
        if let onLine, !lineBuffer.isEmpty { onLine(String(decoding: lineBuffer, as: UTF8.self)) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return WGCommandResult(status: exit, stdout: String(decoding: out, as: UTF8.self),
                               stderr: String(decoding: err, as: UTF8.self))
    }
}
