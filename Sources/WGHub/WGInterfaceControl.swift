import Foundation
import WGModel

/// The hub's WireGuard interface, as the hub changes it: one peer at a time, never a full rewrite, so live
/// sessions of other peers are never touched. Tests use a fake; `wghub serve` uses `WGCommandControl`.
public protocol WGInterfaceControl: Sendable {
    var interfaceName: String { get }
    /// `wg show NAME dump`, parsed.
    func dump() throws -> WGDump
    /// `wg set NAME peer KEY allowed-ips A,B,…` (creates or updates the peer; its session survives).
    func setPeer(publicKey: String, allowedIPs: [String]) throws
    /// `wg set NAME peer KEY remove`.
    func removePeer(publicKey: String) throws
    /// `ip route replace SUBNET dev NAME`: a site's LAN goes through the tunnel.
    func addRoute(_ subnet: String) throws
    /// `ip route del SUBNET dev NAME`; a missing route is not an error.
    func removeRoute(_ subnet: String) throws
    /// The hub machine's own addresses, routes and gateways (`ip addr`, `ip route`): what no site may claim.
    func hostNetworks() throws -> WGHostNetworks
}
