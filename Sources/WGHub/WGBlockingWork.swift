import Dispatch

/// Runs blocking work (a `wg`/`ip` process, a synchronous read) on a dispatch queue of its own and awaits it,
/// so it never holds one of Swift's cooperative threads: on a 2-core machine there are two, and two blocked
/// callers stall every request (seen: the hub froze at 0 % CPU).
enum WGBlockingWork {
    private static let queue = DispatchQueue(label: "wghub.blocking", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            queue.async { c.resume(with: Result { try work() }) }
        }
    }
}
