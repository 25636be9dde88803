/// A thing wgagent converges: reads facts, compares them with the desired state, returns a plan.
/// Planning never changes the machine.
public protocol WGResource: Sendable {
    var name: String { get }
    func plan(_ context: WGContext) throws -> WGResourcePlan
}
