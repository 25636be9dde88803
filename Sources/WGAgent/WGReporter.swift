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

/// Sends health reports: each one is numbered (persisted), put in the spool, and the spool is sent in order;
/// a report leaves the spool only when the hub acknowledged it (stored, or already known by its number).
public final class WGReporter {
    public enum Delivery: Sendable, Equatable {
        /// Everything in the spool went out.
        case delivered(sent: Int)
        /// The hub could not be reached (or refused for now): `waiting` reports stay in the spool.
        case pending(sent: Int, waiting: Int, reason: String)
    }

    public let host: WGHost
    public let enrollment: WGEnrollment
    public let spool: WGSpool
    public let sequence: WGReportSequence
    public let collector: WGHealthCollector
    let client: WGHTTPClient
    public var backoff = WGBackoff()
    public var log: (String) -> Void = { _ in }
    public var now: () -> Date = Date.init
    public var sleep: (Double) -> Void = { usleep(useconds_t(max(0, $0) * 1_000_000)) }

    public init(host: WGHost, enrollment: WGEnrollment, collector: WGHealthCollector, spoolLimit: Int = 500,
                client: WGHTTPClient? = nil) throws {
        self.host = host
        self.enrollment = enrollment
        self.collector = collector
        self.spool = WGSpool(host: host, limit: spoolLimit)
        self.sequence = WGReportSequence(host: host)
        self.client = try client ?? enrollment.client(connectTimeout: 10, timeout: 20)
    }

    /// Makes a report and puts it in the spool; returns it with the doctor's findings.
    @discardableResult
    public func record() throws -> (WGHealthReport, [WGFinding]) {
        let seq = try sequence.next()
        let (report, findings) = collector.collect(seq: seq)
        let dropped = try spool.add(report)
        if dropped > 0 { log("spool full (\(spool.limit)): dropped the \(dropped) oldest report(s); \(spool.dropped) dropped in all") }
        return (report, findings)
    }

    /// Sends the spool, oldest first, until it is empty or the hub cannot take more.
    public func flush() -> Delivery {
        var sent = 0
        for seq in spool.pending() {
            guard let report = try? spool.load(seq) else {
                // An unreadable file would block the queue forever: it goes (and is said).
                log("spool: report \(seq) is unreadable; removed")
                try? spool.remove(seq)
                continue
            }
            do {
                let ack: WGHealthAck = try client.post("/v1/health", report, bearer: enrollment.credential)
                try spool.remove(seq)
                sent += 1
                if !ack.stored { log("report \(seq) was already on the hub (acknowledged, not stored twice)") }
            } catch let e as WGHTTPClientError {
                if let status = e.hubStatus, status == 400 || status == 413 {
                    // The hub will never take this one: keeping it would block every later report.
                    log("the hub refused report \(seq) (\(e)); removed from the spool")
                    try? spool.remove(seq)
                    continue
                }
                var reason = "\(e)"
                if e.hubStatus == 401 { reason += " — this machine's credential is no longer valid: run `wgagent enroll --reenroll` with a new token" }
                return .pending(sent: sent, waiting: spool.pending().count, reason: reason)
            } catch {
                return .pending(sent: sent, waiting: spool.pending().count, reason: "\(error)")
            }
        }
        return .delivered(sent: sent)
    }

    /// `report --once`: what is waiting goes first (so a full spool does not drop its oldest for nothing when the
    /// hub is back), then a new report, then it goes too. While the hub is away the new report just waits.
    public func once() throws -> Delivery {
        var before = 0
        if !spool.pending().isEmpty {
            switch flush() {
            case .delivered(let n): before = n
            case .pending(let n, _, let reason):
                try record()
                return .pending(sent: n, waiting: spool.pending().count, reason: reason)
            }
        }
        try record()
        switch flush() {
        case .delivered(let n): return .delivered(sent: before + n)
        case .pending(let n, let waiting, let reason): return .pending(sent: before + n, waiting: waiting, reason: reason)
        }
    }

    /// `report --interval`: a report every `interval` seconds; between them, a failed send is retried with
    /// backoff and jitter (never later than the next report). `rounds` bounds the loop (tests); nil runs forever.
    /// Returns only when `rounds` ran out, or when this machine turned out to be a clone of the enrolled one (the
    /// reason): a clone must not report, or keep a tunnel up, with the original's credential and key.
    @discardableResult
    public func run(interval: Double, rounds: Int? = nil) -> String? {
        var failures = 0
        var nextReport = now()
        var round = 0
        while rounds.map({ round < $0 }) ?? true {
            round += 1
            if let why = enrollment.cloneReason(host) {
                let initSystem = collector.doctor.facts.initSystem
                let stop = initSystem.stopArgv(initSystem.wireguardService(enrollment.interface))
                log("not reporting: this machine is not the one enrolled as site \(enrollment.siteID.map(String.init) ?? "?") (\(why)); "
                    + "a clone. Stopping its tunnel (`\(stop.joined(separator: " "))`), which holds the original's key. "
                    + "`wgagent enroll --token TOKEN` gives it its own")
                _ = try? host.run(stop)
                return why
            }
            var delivery: Delivery
            if now() >= nextReport {
                nextReport = nextReport.addingTimeInterval(interval)
                if nextReport < now() { nextReport = now().addingTimeInterval(interval) }
                do { delivery = try once() } catch {
                    log("cannot record a report: \(error)")
                    delivery = flush()
                }
            } else {
                delivery = flush()
            }
            switch delivery {
            case .delivered(let sent):
                if failures > 0 || sent > 1 { log("delivered \(sent) report(s)\(failures > 0 ? " after \(failures) failed attempt(s)" : "")") }
                failures = 0
                sleep(nextReport.timeIntervalSince(now()))
            case .pending(let sent, let waiting, let reason):
                failures += 1
                let wait = min(backoff.delay(failures: failures), max(0, nextReport.timeIntervalSince(now())))
                log("hub not reached (\(reason)); \(sent) sent, \(waiting) waiting in the spool; retry in \(WGText.oneDecimal(wait)) s")
                sleep(wait)
            }
        }
        return nil
    }
}
