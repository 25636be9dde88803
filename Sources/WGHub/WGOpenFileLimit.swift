import Foundation
import Logging

/// Every connection is a file descriptor: a cap above the open-file limit would let a flood make every accept
/// (and every SQLite open) fail. Raises the soft limit to the hard one, then keeps the cap below it.
enum WGOpenFileLimit {
    /// Descriptors kept for the store, the WAL, logs, `wg`/`ip` pipes and the listener.
    static let reserve = 64
    #if canImport(Glibc)
    static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    static let resource = RLIMIT_NOFILE
    #endif

    static func connectionCap(wanted: Int, logger: Logger) -> Int {
        var rl = rlimit()
        guard getrlimit(Self.resource, &rl) == 0 else { return wanted }
        if rl.rlim_cur < rl.rlim_max {
            var raised = rl
            raised.rlim_cur = rl.rlim_max
            if setrlimit(Self.resource, &raised) == 0 { rl = raised }
        }
        let available = Int(clamping: rl.rlim_cur) - reserve
        if wanted > available {
            let cap = max(1, available)
            logger.warning("--max-connections \(wanted) is above what the open-file limit \(rl.rlim_cur) allows: using \(cap) (raise LimitNOFILE= in the unit)")
            return cap
        }
        return wanted
    }
}
