import ArgumentParser
import Foundation
import WGModel

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
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        do {
            print(try WGKey(base64: input.trimmingCharacters(in: .whitespacesAndNewlines)).publicKey.base64)
        } catch {
            WGOutput.error("pubkey: \(error)")
            throw ExitCode(1)
        }
    }
}
