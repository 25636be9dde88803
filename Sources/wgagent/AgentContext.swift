import ArgumentParser
import WGAgent
import WGProvision

/// What report, status and doctor start from: this machine, its facts, its enrollment (if any).
struct AgentContext {
    let host: WGHost
    let facts: WGFacts
    let enrollment: WGEnrollment?

    static func load(requireEnrollment: Bool) throws -> AgentContext {
        let host = WGLocalHost()
        do {
            let facts = try WGFacts.gather(host)
            let e = try WGEnrollmentStore.load(host)
            if requireEnrollment && e == nil {
                throw WGEnrollmentFileError.notEnrolled(path: WGEnrollmentStore.path)
            }
            return AgentContext(host: host, facts: facts, enrollment: e)
        } catch {
            WGOutput.error("\(error)")
            throw ExitCode(2)
        }
    }

    func doctor(interface: String?) -> WGDoctor { WGDoctor(host: host, facts: facts, enrollment: enrollment, interface: interface) }
}
