import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Print a new private key (like `wg genkey`).")

    func run() throws {
        print(WGKey.generatePrivate().base64)
    }
}

struct PubkeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubkey", abstract: "Read a private key on stdin and print its public key (like `wg pubkey`).")

    func run() throws {
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(0, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let input = String(decoding: bytes, as: UTF8.self)
        do {
            print(try WGKey(base64: input.wgTrimmed()).publicKey.base64)
        } catch {
            WGOutput.error("pubkey: \(error)")
            throw ExitCode(1)
        }
    }
}
