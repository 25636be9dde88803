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

/// Watches one UDP port for the hub's probe datagram (`WGHUB-PROBE 1 PROBE_ID NONCE\n`).
/// Open it before asking the hub for a probe, so nothing arrives before anyone listens.
public protocol WGProbeListener: AnyObject {
    /// How it watches, for people: "bound UDP socket on 0.0.0.0:51820", "raw IPPROTO_UDP socket (…)".
    var description: String { get }
    /// The next probe datagram for the port, or nil when `deadline` passed first. Other traffic is skipped.
    func next(until deadline: Date) throws -> (probeID: String, nonce: String)?
    func close()
}

public struct WGProbeListenerError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable { case portInUse, needsRoot, other }
    public let kind: Kind
    public let description: String
}

/// Shared by the listeners: poll with the time left, then read one datagram.
private func receive(_ fd: Int32, until deadline: Date) throws -> [UInt8]? {
    while true {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { return nil }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let rc = poll(&pfd, 1, Int32(min(left * 1000, 60_000).rounded(.up)))
        if rc < 0 {
            if errno == EINTR { continue }
            throw WGProbeListenerError(kind: .other, description: "poll: \(String(cString: strerror(errno)))")
        }
        if rc == 0 { continue }
        var buf = [UInt8](repeating: 0, count: 2048)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { continue }
            throw WGProbeListenerError(kind: .other, description: "recv: \(String(cString: strerror(errno)))")
        }
        return Array(buf[0..<n])
    }
}

/// A UDP socket bound to the port: works while nothing else holds it (before the tunnel is up).
public final class WGUDPProbeListener: WGProbeListener {
    var fd: Int32
    /// The bound port (the kernel's choice when 0 was asked).
    public let port: Int
    public let address: String
    public var description: String { "bound UDP socket on \(address):\(port)" }

    /// Throws `.portInUse` when something (WireGuard) holds the port.
    public init(port: Int, address: String = "0.0.0.0") throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw WGProbeListenerError(kind: .other, description: "socket: \(String(cString: strerror(errno)))") }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = in_port_t(UInt16(port).bigEndian)
        sa.sin_addr.s_addr = inet_addr(address)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 {
            let err = errno
            Glibc.close(fd)
            if err == EADDRINUSE {
                throw WGProbeListenerError(kind: .portInUse, description: "UDP port \(port) is in use (WireGuard holds it)")
            }
            throw WGProbeListenerError(kind: .other, description: "bind \(address):\(port): \(String(cString: strerror(err)))")
        }
        var local = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: local.sin_port))
        self.address = address
    }

    public func next(until deadline: Date) throws -> (probeID: String, nonce: String)? {
        while let bytes = try receive(fd, until: deadline) {
            if let p = WGProbeDatagram.decode(bytes) { return p }
        }
        return nil
    }

    public func close() { if fd >= 0 { Glibc.close(fd); fd = -1 } }
    deinit { close() }
}

/// Reads IPv4 packets with their headers, keeping UDP datagrams to `port` that carry a probe: sees the probe while
/// WireGuard holds the port. Root (CAP_NET_RAW) only.
///
/// `.ip` is `socket(AF_INET, SOCK_RAW, IPPROTO_UDP)`: packets the host accepted (after its firewall's INPUT).
/// `.link` is `socket(AF_PACKET, SOCK_DGRAM, ETH_P_IP)`: packets as they arrive on any interface, before the firewall.
public final class WGRawProbeListener: WGProbeListener {
    public enum View: Sendable { case ip, link }
    var fd: Int32
    public let port: Int
    public let view: View
    public var description: String {
        view == .ip ? "raw IPPROTO_UDP socket (UDP port \(port), after the firewall)"
            : "AF_PACKET socket (UDP port \(port), before the firewall)"
    }

    public init(port: Int, view: View = .ip) throws {
        let fd: Int32
        switch view {
        case .ip: fd = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_UDP))
        case .link: fd = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue), Int32(UInt16(0x0800).bigEndian))
        }
        guard fd >= 0 else {
            let err = errno
            if err == EPERM || err == EACCES {
                throw WGProbeListenerError(kind: .needsRoot, description: "a raw socket needs root (CAP_NET_RAW): run `sudo wgagent check-port` to watch port \(port) while WireGuard holds it")
            }
            throw WGProbeListenerError(kind: .other, description: "raw socket: \(String(cString: strerror(err)))")
        }
        self.fd = fd
        self.port = port
        self.view = view
    }

    /// (probeID, nonce) when `packet` (IPv4 header onward) is a UDP datagram to `port` carrying a probe.
    public static func parse(_ packet: [UInt8], port: Int) -> (probeID: String, nonce: String)? {
        guard packet.count >= 28, packet[0] >> 4 == 4, packet[9] == 17 else { return nil }
        let ihl = Int(packet[0] & 0x0f) * 4
        guard ihl >= 20, packet.count >= ihl + 8 else { return nil }
        let dport = Int(packet[ihl + 2]) << 8 | Int(packet[ihl + 3])
        guard dport == port else { return nil }
        return WGProbeDatagram.decode(packet[(ihl + 8)...])
    }

    public func next(until deadline: Date) throws -> (probeID: String, nonce: String)? {
        while let bytes = try receive(fd, until: deadline) {
            if let p = Self.parse(bytes, port: port) { return p }
        }
        return nil
    }

    public func close() { if fd >= 0 { Glibc.close(fd); fd = -1 } }
    deinit { close() }
}

public enum WGProbeListeners {
    /// A bound socket when the port is free; the raw socket when WireGuard holds it.
    public static func open(port: Int, address: String = "0.0.0.0") throws -> any WGProbeListener {
        do { return try WGUDPProbeListener(port: port, address: address) } catch let e as WGProbeListenerError where e.kind == .portInUse {
            return try WGRawProbeListener(port: port, view: .ip)
        }
    }
}
