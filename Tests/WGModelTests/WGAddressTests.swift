import Foundation
import XCTest
@testable import WGModel

final class WGAddressTests: XCTestCase {
    func testIPv4() throws {
        XCTAssertEqual(try WGIPAddress("192.0.2.1"), .v4([192, 0, 2, 1]))
        XCTAssertEqual(try WGIPAddress("203.0.113.255").description, "203.0.113.255")
        for bad in ["192.0.2", "192.0.2.256", "192.0.2.01", "192.0.2.-1", "192.0.2.1.", "a.b.c.d", "", "192.0.2. 1"] {
            XCTAssertThrowsError(try WGIPAddress(bad), bad) { e in
                XCTAssertTrue("\(e)".hasPrefix("\"\(bad)\": not an IPv4 address"), "\(e)")
            }
        }
    }

    func testIPv6CanonicalRFC5952() throws {
        let cases: [(String, String)] = [
            ("2001:db8::1", "2001:db8::1"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"),  // first of equal runs
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),                    // single zero not compressed
            ("2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"),                        // longest run wins
            ("::", "::"), ("::1", "::1"), ("2001:db8::", "2001:db8::"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("2001:db8::192.0.2.1", "2001:db8::c000:201"),
        ]
        for (input, canonical) in cases {
            XCTAssertEqual(try WGIPAddress(input).description, canonical, input)
        }
        for bad in ["2001:db8:::1", "2001:db8::1::2", "1:2:3:4:5:6:7:8:9", "2001:db8::g", "12345::", "fe80::1%eth0", "[2001:db8::1]", "1:2:3:4:5:6:7"] {
            XCTAssertThrowsError(try WGIPAddress(bad), bad)
        }
    }

    func testIPv6AgreesWithInetNtop() throws {
        // Oracle: glibc's inet_pton/inet_ntop on random addresses with zero runs.
        for _ in 0..<300 {
            var words = (0..<8).map { _ in UInt16.random(in: 0...3) == 0 ? UInt16.random(in: 0...0xffff) : 0 }
            words[0] = 0x2001
            let text = words.map { String($0, radix: 16) }.joined(separator: ":")
            var raw = in6_addr()
            XCTAssertEqual(inet_pton(AF_INET6, text, &raw), 1)
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &raw, &buf, socklen_t(buf.count))
            let expected = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            XCTAssertEqual(try WGIPAddress(text).description, expected, text)
            XCTAssertEqual(try WGIPAddress(expected).bytes, withUnsafeBytes(of: raw) { Array($0) })
        }
    }

    func testCIDR() throws {
        let c = try WGCIDR("192.0.2.77/24")
        XCTAssertEqual(c.description, "192.0.2.77/24")
        XCTAssertEqual(c.network.description, "192.0.2.0/24")
        XCTAssertFalse(c.isIPv6)
        XCTAssertTrue(c.contains(try WGIPAddress("192.0.2.200")))
        XCTAssertFalse(c.contains(try WGIPAddress("198.51.100.1")))
        XCTAssertFalse(c.contains(try WGIPAddress("2001:db8::1")))
        XCTAssertEqual(try WGCIDR("198.51.100.7").description, "198.51.100.7/32")
        XCTAssertEqual(try WGCIDR("2001:db8::1").prefixLength, 128)
        let v6 = try WGCIDR("2001:db8:abcd:12::1/60")
        XCTAssertTrue(v6.isIPv6)
        // 0x12 & 0xfff0 == 0x10: the /60 boundary cuts the fourth group.
        XCTAssertEqual(v6.network.description, "2001:db8:abcd:10::/60")
        XCTAssertTrue(v6.contains(try WGIPAddress("2001:db8:abcd:1f::9")))
        XCTAssertFalse(v6.contains(try WGIPAddress("2001:db8:abcd:20::1")))
        XCTAssertFalse(v6.contains(try WGIPAddress("2001:db8:abcd:f::1")))
        XCTAssertEqual(try WGCIDR("203.0.113.9/0").network.description, "0.0.0.0/0")
        XCTAssertEqual(try WGCIDR("203.0.113.9/29").network.description, "203.0.113.8/29")
        XCTAssertTrue(try WGCIDR("0.0.0.0/0").contains(try WGCIDR("203.0.113.0/24")))
        XCTAssertFalse(try WGCIDR("203.0.113.0/25").contains(try WGCIDR("203.0.113.0/24")))
        // Bit by bit at a boundary inside a byte (compared in place), and a whole-address prefix.
        let b29 = try WGCIDR("203.0.113.8/29")
        XCTAssertTrue(b29.contains(try WGIPAddress("203.0.113.15")))
        XCTAssertFalse(b29.contains(try WGIPAddress("203.0.113.16")))
        XCTAssertFalse(b29.contains(try WGIPAddress("203.0.113.7")))
        XCTAssertTrue(try WGCIDR("203.0.113.9/32").contains(try WGIPAddress("203.0.113.9")))
        XCTAssertFalse(try WGCIDR("203.0.113.9/32").contains(try WGIPAddress("203.0.113.8")))
        XCTAssertTrue(try WGCIDR("0.0.0.0/0").contains(try WGIPAddress("198.51.100.1")))
    }

    func testCIDRErrors() {
        XCTAssertThrowsError(try WGCIDR("192.0.2.0/33")) { e in
            XCTAssertEqual("\(e)", "\"192.0.2.0/33\": prefix length must be 0…32")
        }
        XCTAssertThrowsError(try WGCIDR("2001:db8::/129")) { e in
            XCTAssertEqual("\(e)", "\"2001:db8::/129\": prefix length must be 0…128")
        }
        for bad in ["192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/2a", "192.0.2.0/24/1", "/24", "192.0.2.300/24"] {
            XCTAssertThrowsError(try WGCIDR(bad), bad)
        }
        XCTAssertThrowsError(try WGCIDR("192.0.2.300/24")) { e in
            XCTAssertTrue("\(e)".contains("not an IPv4 address"), "\(e)")
        }
    }

    func testCodableAsStrings() throws {
        let c = try WGCIDR("2001:db8::1/64")
        let a = try WGIPAddress("192.0.2.1")
        let e = try WGEndpoint("[2001:db8::1]:51820")
        let data = try JSONEncoder().encode([c.description: [c]])
        XCTAssertEqual(try JSONDecoder().decode([String: [WGCIDR]].self, from: data)[c.description], [c])
        XCTAssertEqual(String(decoding: try JSONEncoder().encode([a]), as: UTF8.self), "[\"192.0.2.1\"]")
        XCTAssertEqual(String(decoding: try JSONEncoder().encode([e]), as: UTF8.self), "[\"[2001:db8::1]:51820\"]")
        XCTAssertEqual(try JSONDecoder().decode([WGEndpoint].self, from: JSONEncoder().encode([e])), [e])
        XCTAssertThrowsError(try JSONDecoder().decode([WGCIDR].self, from: Data("[\"192.0.2.0/40\"]".utf8)))
    }

    func testEndpoints() throws {
        let v4 = try WGEndpoint("203.0.113.1:51820")
        XCTAssertEqual(v4.host, "203.0.113.1")
        XCTAssertEqual(v4.port, 51820)
        XCTAssertEqual(v4.address, .v4([203, 0, 113, 1]))
        let v6 = try WGEndpoint("[2001:db8::1]:443")
        XCTAssertEqual(v6.host, "2001:db8::1")
        XCTAssertEqual(v6.description, "[2001:db8::1]:443")
        let name = try WGEndpoint("vpn.example.com:51820")
        XCTAssertEqual(name.host, "vpn.example.com")
        XCTAssertNil(name.address)
        XCTAssertEqual(try WGEndpoint(host: "2001:db8::2", port: 1).description, "[2001:db8::2]:1")
        XCTAssertEqual(try WGEndpoint("a-b.example.:1").host, "a-b.example.")
    }

    func testEndpointErrors() {
        let cases: [(String, String)] = [
            ("203.0.113.1", "missing port"),
            ("203.0.113.1:0", "port must be 1…65535"),
            ("203.0.113.1:65536", "port must be 1…65535"),
            ("203.0.113.1:http", "port must be 1…65535"),
            ("2001:db8::1:51820", "an IPv6 address needs brackets"),
            ("[2001:db8::1:51820", "missing `]`"),
            ("[2001:db8::1]51820", "missing port after `]`"),
            ("[192.0.2.1]:51820", "brackets must hold an IPv6 address"),
            ("203.0.113.300:51820", "is not an IPv4 address"),
            ("-bad.example.com:51820", "starts or ends with a hyphen"),
            ("bad_name.example.com:51820", "only letters, digits and hyphens"),
            ("a..example.com:51820", "empty label"),
            (":51820", "missing host"),
            (String(repeating: "a", count: 64) + ".example:1", "longer than 63"),
        ]
        for (text, fragment) in cases {
            XCTAssertThrowsError(try WGEndpoint(text), text) { e in
                XCTAssertTrue("\(e)".hasPrefix("\"\(text)\": "), "\(e)")
                XCTAssertTrue("\(e)".contains(fragment), "\(text): \(e)")
            }
        }
    }
}
