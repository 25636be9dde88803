import Foundation
import WGModel

/// Sends the port-forward probe datagram.
public protocol WGProbeSender: Sendable {
    /// Sends `payload` to host:port from a fresh socket whose source port is not `avoidPort`; returns the
    /// source port used.
    func send(_ payload: [UInt8], host: String, port: Int, avoidPort: Int?) throws -> Int
}

public struct WGProbeSendError: Error, CustomStringConvertible {
    public let description: String
}

/// A plain UDP socket on an ephemeral port (never the hub's WireGuard port: a probe from the WireGuard
/// port would ride on the NAT mapping the tunnel's keepalives opened, and prove nothing).
public struct WGUDPProbeSender: WGProbeSender {
    public init() {}

    public func send(_ payload: [UInt8], host: String, port: Int, avoidPort: Int?) throws -> Int {
        let ip: WGIPAddress
        do { ip = try WGIPAddress(host) } catch { throw WGProbeSendError(description: "observed address \"\(host)\" is not an IP address") }
        for _ in 0..<3 {
            let fd = socket(ip.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { throw WGProbeSendError(description: "socket: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var storage = sockaddr_storage()
            var len: socklen_t
            if case .v6(let b) = ip {
                var sa = sockaddr_in6()
                sa.sin6_family = sa_family_t(AF_INET6)
                sa.sin6_port = in_port_t(UInt16(port).bigEndian)
                withUnsafeMutableBytes(of: &sa.sin6_addr) { for i in 0..<16 { $0[i] = b[i] } }
                len = socklen_t(MemoryLayout<sockaddr_in6>.size)
                withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sa) { dst.copyMemory(from: $0) } }
            } else {
                var sa = sockaddr_in()
                sa.sin_family = sa_family_t(AF_INET)
                sa.sin_port = in_port_t(UInt16(port).bigEndian)
                withUnsafeMutableBytes(of: &sa.sin_addr) { for i in 0..<4 { $0[i] = ip.bytes[i] } }
                len = socklen_t(MemoryLayout<sockaddr_in>.size)
                withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sa) { dst.copyMemory(from: $0) } }
            }
            // connect() binds an ephemeral source port we can read back before anything is sent.
            let rc = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
            guard rc == 0 else { throw WGProbeSendError(description: "connect \(host):\(port): \(String(cString: strerror(errno)))") }
            var local = sockaddr_storage()
            var llen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &llen) } }
            let sourcePort = withUnsafeBytes(of: local) { raw -> Int in
                // sin_port and sin6_port are both at offset 2.
                Int(UInt16(raw[2]) << 8 | UInt16(raw[3]))
            }
            if let avoidPort, sourcePort == avoidPort { continue }
            let n = payload.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard n == payload.count else { throw WGProbeSendError(description: "send to \(host):\(port): \(String(cString: strerror(errno)))") }
            return sourcePort
        }
        throw WGProbeSendError(description: "could not get a source port other than \(avoidPort ?? 0)")
    }
}
