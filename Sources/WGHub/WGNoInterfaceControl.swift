import WGModel

/// No interface (development, benchmarks): peers are only kept in the store. The hub's public key is given.
public struct WGNoInterfaceControl: WGInterfaceControl {
    public let interfaceName = "none"
    let publicKey: WGKey
    public init(publicKey: WGKey) { self.publicKey = publicKey }
    public func dump() throws -> WGDump { WGDump(publicKey: publicKey) }
    public func setPeer(publicKey: String, allowedIPs: [String]) throws {}
    public func removePeer(publicKey: String) throws {}
    public func addRoute(_ subnet: String) throws {}
    public func removeRoute(_ subnet: String) throws {}
    public func hostNetworks() throws -> WGHostNetworks { WGHostNetworks() }
}
