import WGModel
import WGProvision

/// What report, status, check-port and doctor start from: this machine, its facts, its enrollment (if any).
public struct WGMachine {
    public let host: WGHost
    public let facts: WGFacts
    public let enrollment: WGEnrollment?

    public init(host: WGHost, facts: WGFacts, enrollment: WGEnrollment?) {
        self.host = host
        self.facts = facts
        self.enrollment = enrollment
    }

    /// Facts and enrollment of `host`; throws (saying what to run) when `requireEnrollment` and it is not enrolled.
    public static func load(_ host: WGHost, requireEnrollment: Bool) throws -> WGMachine {
        let facts = try WGFacts.gather(host)
        let e = try WGEnrollmentStore.load(host)
        if requireEnrollment && e == nil {
            throw WGEnrollmentFileError.notEnrolled(path: WGEnrollmentStore.path)
        }
        return WGMachine(host: host, facts: facts, enrollment: e)
    }

    public func doctor(interface: String?) -> WGDoctor { WGDoctor(host: host, facts: facts, enrollment: enrollment, interface: interface) }
}
