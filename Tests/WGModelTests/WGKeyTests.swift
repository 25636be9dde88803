import Foundation
import XCTest
@testable import WGModel

final class WGKeyTests: XCTestCase {
    func testPublicKeyMatchesWgPubkeyForWgGenkeyKeys() throws {
        let wg = try WGTestEnv.require(["wg"])["wg"]!
        for _ in 0..<200 {
            let priv = try WGRun.must([wg, "genkey"]).trimmingCharacters(in: .whitespacesAndNewlines)
            let pub = try WGRun.must([wg, "pubkey"], stdin: priv + "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            let key = try WGKey(base64: priv)
            XCTAssertEqual(key.base64, priv, "base64 must round-trip")
            XCTAssertTrue(key.isClamped, "wg genkey output is clamped")
            XCTAssertEqual(key.publicKey.base64, pub)
        }
    }

    func testGeneratedKeysAreAcceptedByWgPubkey() throws {
        let wg = try WGTestEnv.require(["wg"])["wg"]!
        var seen = Set<WGKey>()
        for _ in 0..<200 {
            let key = WGKey.generatePrivate()
            XCTAssertEqual(key.bytes[0] & 7, 0)
            XCTAssertEqual(key.bytes[31] & 0x80, 0)
            XCTAssertEqual(key.bytes[31] & 0x40, 0x40)
            let pub = try WGRun.must([wg, "pubkey"], stdin: key.base64 + "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertEqual(key.publicKey.base64, pub)
            XCTAssertTrue(seen.insert(key).inserted, "generatePrivate repeated a key")
        }
    }

    func testUnclampedKeyGivesSamePublicKeyAsWg() throws {
        let wg = try WGTestEnv.require(["wg"])["wg"]!
        // All bits set: wg pubkey clamps internally; so must we.
        let key = try WGKey(bytes: [UInt8](repeating: 0xFF, count: 32))
        XCTAssertFalse(key.isClamped)
        let pub = try WGRun.must([wg, "pubkey"], stdin: key.base64 + "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(key.publicKey.base64, pub)
    }

    func testKnownVector() throws {
        // RFC 7748 §6.1: Alice's private key and public key.
        let priv = try WGKey(bytes: hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        XCTAssertEqual(priv.publicKey.bytes, hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
    }

    func testPresharedKeysDiffer() {
        XCTAssertNotEqual(WGKey.generatePreshared(), WGKey.generatePreshared())
    }

    func testBadBase64AndLengthErrors() {
        let good = WGKey.generatePrivate().base64
        XCTAssertThrowsError(try WGKey(base64: String(good.dropLast()))) { e in
            XCTAssertEqual(e as? WGModelError, .invalidKey(reason: "a key is 44 base64 characters, got 43: copy it whole from `wg genkey` / `wg pubkey`"))
        }
        XCTAssertThrowsError(try WGKey(base64: " " + good)) { e in
            XCTAssertTrue("\(e)".contains("got 45 (it contains whitespace"), "\(e)")
        }
        XCTAssertThrowsError(try WGKey(base64: String(good.dropLast()) + "A")) { e in
            XCTAssertTrue("\(e)".contains("not valid base64"), "\(e)")
        }
        XCTAssertThrowsError(try WGKey(base64: "!" + good.dropFirst())) { e in
            XCTAssertTrue("\(e)".contains("not valid base64"), "\(e)")
        }
        // 33 bytes of base64 is 44 characters with no padding.
        XCTAssertThrowsError(try WGKey(base64: String(repeating: "A", count: 44)))
        // 31 bytes: 44 characters ending "==".
        XCTAssertThrowsError(try WGKey(base64: String(repeating: "A", count: 42) + "=="))
        XCTAssertThrowsError(try WGKey(bytes: [1, 2, 3])) { e in
            XCTAssertTrue("\(e)".contains("32 bytes, got 3"), "\(e)")
        }
        XCTAssertThrowsError(try WGKey(base64: "")) { e in
            XCTAssertTrue("\(e)".contains("got 0"), "\(e)")
        }
    }

    func testErrorsAndDescriptionNeverShowTheKey() throws {
        let key = WGKey.generatePrivate()
        XCTAssertEqual("\(key)", "WGKey(…)")
        XCTAssertFalse(String(describing: [key]).contains(key.base64))
        let broken = key.base64.dropLast(2) + "!="
        XCTAssertThrowsError(try WGKey(base64: String(broken))) { e in
            XCTAssertFalse("\(e)".contains(String(broken.prefix(10))), "error leaked the key: \(e)")
        }
    }

    func testCodableAsBase64String() throws {
        let key = WGKey.generatePrivate()
        let data = try JSONEncoder().encode(["k": key])
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "{\"k\":\"\(key.base64.replacingOccurrences(of: "/", with: "\\/"))\"}")
        XCTAssertEqual(try JSONDecoder().decode([String: WGKey].self, from: data)["k"], key)
        XCTAssertThrowsError(try JSONDecoder().decode([String: WGKey].self, from: Data("{\"k\":\"abc\"}".utf8)))
    }

    func testBase64MatchesFoundation() throws {
        for n in 0..<40 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255) }
            XCTAssertEqual(WGBase64.encode(bytes), Data(bytes).base64EncodedString())
            XCTAssertEqual(WGBase64.decode(Data(bytes).base64EncodedString()), bytes)
        }
        XCTAssertNil(WGBase64.decode("AB=C"))
        XCTAssertNil(WGBase64.decode("A==="))
    }
}

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        out.append(UInt8(s[i..<j], radix: 16)!)
        i = j
    }
    return out
}
