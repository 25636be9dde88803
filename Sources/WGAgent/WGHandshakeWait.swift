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
import WGModel
import WGProvision

/// Waits, bounded, for the first handshake with a peer, reading `wg show IFACE dump` through the host.
public struct WGHandshakeWait {
    public enum Outcome: Sendable, Equatable {
        /// A handshake happened; `after` seconds of waiting; the endpoint the peer was reached at.
        case handshake(after: Double, endpoint: String?)
        /// None within the bound; the last problem reading the interface, if any.
        case none(waited: Double, problem: String?)
    }

    public let host: WGHost
    public var interval: Double = 0.5
    public var now: () -> Date = Date.init
    public var sleep: (Double) -> Void = { usleep(useconds_t($0 * 1_000_000)) }

    public init(host: WGHost) { self.host = host }

    public func wait(interface: String, peer: String, timeout: Double) -> Outcome {
        let start = now()
        var problem: String?
        while true {
            do {
                let r = try host.run(["wg", "show", interface, "dump"])
                if r.succeeded {
                    let dump = try WGDump.parse(r.stdout)
                    if let p = dump.peers.first(where: { $0.publicKey.base64 == peer }) {
                        if p.latestHandshake > 0 { return .handshake(after: now().timeIntervalSince(start), endpoint: p.endpoint) }
                        problem = nil
                    } else {
                        problem = "\(interface) has no peer \(peer)"
                    }
                } else {
                    problem = "`wg show \(interface) dump` exited \(r.status): \(r.stderr.wgTrimmed())"
                }
            } catch {
                problem = "\(error)"
            }
            let waited = now().timeIntervalSince(start)
            if waited >= timeout { return .none(waited: waited, problem: problem) }
            sleep(min(interval, max(0.01, timeout - waited)))
        }
    }
}
