#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// Health reports waiting for the hub, one file per report named by its sequence number
/// (/var/lib/wgagent/spool/SEQ.json, 0600), so a report is stored once and sent in order.
/// Bounded: when full, the oldest go first, and the number dropped is counted in spool/dropped.
public struct WGSpool {
    public static let directory = WGEnrollmentStore.directory + "/spool"
    static let droppedPath = directory + "/dropped"
    let host: WGHost
    public let limit: Int

    public init(host: WGHost, limit: Int = 500) {
        self.host = host
        self.limit = max(1, limit)
    }

    static func name(_ seq: Int64) -> String { WGText.zeroPadded(seq, width: 12) + ".json" }

    /// Sequence numbers waiting, oldest first.
    public func pending() -> [Int64] {
        host.listDirectory(Self.directory).compactMap { f in f.hasSuffix(".json") ? Int64(f.dropLast(5)) : nil }.sorted()
    }

    /// Reports dropped because the spool was full, since the spool was created.
    public var dropped: Int { ((try? host.readText(Self.droppedPath)) ?? nil).flatMap { Int($0.wgTrimmed()) } ?? 0 }

    /// Stores a report (once: the file name is its sequence number); makes room by dropping the oldest.
    @discardableResult
    public func add(_ report: WGHealthReport) throws -> Int {
        try ensure()
        var waiting = pending()
        var dropping = 0
        // A number already waiting is replaced in place: it takes no room of its own.
        while !waiting.contains(report.seq), waiting.count >= limit, let oldest = waiting.first {
            try host.removeFile(Self.directory + "/" + Self.name(oldest))
            waiting.removeFirst()
            dropping += 1
        }
        if dropping > 0 {
            try host.writeFileAtomically(Self.droppedPath, contents: Data("\(dropped + dropping)\n".utf8), permissions: 0o600)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try host.writeFileAtomically(Self.directory + "/" + Self.name(report.seq), contents: try enc.encode(report), permissions: 0o600)
        return dropping
    }

    public func load(_ seq: Int64) throws -> WGHealthReport? {
        guard let data = try host.readFile(Self.directory + "/" + Self.name(seq)) else { return nil }
        return try? JSONDecoder().decode(WGHealthReport.self, from: data)
    }

    public func remove(_ seq: Int64) throws { try host.removeFile(Self.directory + "/" + Self.name(seq)) }

    func ensure() throws {
        try WGEnrollmentStore.ensureDirectory(host)
        try host.makeDirectory(Self.directory, permissions: 0o700)
    }
}
