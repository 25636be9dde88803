import GRDB
import NIOPosix

/// Runs blocking work (a synchronous SQLite read, a `wg`/`ip` process) on threads of its own and awaits it, so it
/// never holds a thread Swift's concurrency or libdispatch needs. On Linux both draw from the same root-queue
/// threads, two on a 2-core machine: GRDB's async reads wait for a reader on a semaphore there, and two such
/// waits froze the hub at 0 % CPU under a storm of unauthenticated requests (seen in gdb). These are NIO's
/// thread-pool threads, not dispatch workers.
enum WGBlockingWork {
    static let threads = 4
    private static let pool: NIOThreadPool = {
        let p = NIOThreadPool(numberOfThreads: threads)
        p.start()
        return p
    }()

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(work)
    }
}

extension DatabasePool {
    /// A read transaction on a blocking-work thread: never GRDB's async read, whose wait for a free reader blocks
    /// a thread the cooperative pool shares.
    func readOffPool<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await WGBlockingWork.run { try self.read(body) }
    }

    /// A write transaction on a blocking-work thread (also for changes that run `wg`/`ip` before their commit):
    /// GRDB's async write would run it, and its fsync, on a libdispatch worker the cooperative pool shares.
    func writeOffPool<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await WGBlockingWork.run { try self.write(body) }
    }
}
