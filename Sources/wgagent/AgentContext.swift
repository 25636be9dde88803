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
                throw WGHostError("this machine is not enrolled (no \(WGEnrollmentStore.path)): run `wgagent enroll --hub URL --token TOKEN --pin PIN` first")
            }
            return AgentContext(host: host, facts: facts, enrollment: e)
        } catch {
            WGOutput.error("\(error)")
            throw ExitCode(2)
        }
    }

    func doctor(interface: String?) -> WGDoctor { WGDoctor(host: host, facts: facts, enrollment: enrollment, interface: interface) }
}
