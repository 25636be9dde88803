/// What a resource found: nothing to do (and why), or the changes that would bring it in line.
public struct WGResourcePlan: Sendable {
    public var reason: String
    public var changes: [WGChange]

    public static func ok(_ reason: String) -> WGResourcePlan { WGResourcePlan(reason: reason, changes: []) }
    public static func change(_ reason: String, _ changes: [WGChange]) -> WGResourcePlan {
        WGResourcePlan(reason: reason, changes: changes)
    }
    public var isOK: Bool { changes.isEmpty }
}
