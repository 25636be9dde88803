#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// The health reports' sequence number, persisted in /var/lib/wgagent/report-seq (0600) before each report is
/// made, so a restarted reporter never reuses a number (the hub acknowledges a known number without storing it).
public struct WGReportSequence {
    public static let path = WGEnrollmentStore.directory + "/report-seq"
    let host: WGHost

    public init(host: WGHost) { self.host = host }

    public var last: Int64 { ((try? host.readText(Self.path)) ?? nil).flatMap { Int64($0.wgTrimmed()) } ?? 0 }

    /// The next number, written to disk before it is returned.
    public func next() throws -> Int64 {
        let n = last + 1
        try WGEnrollmentStore.ensureDirectory(host)
        try host.writeFileAtomically(Self.path, contents: Data("\(n)\n".utf8), permissions: 0o600)
        return n
    }
}
