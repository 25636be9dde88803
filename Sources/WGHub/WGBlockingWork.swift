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
