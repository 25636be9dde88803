import ArgumentParser
import WGAgent
import WGModel

struct KeygenCommand: WGAgentRunnable {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Print a new private key (like `wg genkey`).")

    func run(_ ctx: WGAgentCLIContext) throws {
        ctx.output.line(WGKey.generatePrivate().base64)
    }
}

struct PubkeyCommand: WGAgentRunnable {
    static let configuration = CommandConfiguration(
        commandName: "pubkey", abstract: "Read a private key on stdin and print its public key (like `wg pubkey`).")

    func run(_ ctx: WGAgentCLIContext) throws {
        let input = String(decoding: ctx.readInput(), as: UTF8.self)
        do {
            ctx.output.line(try WGKey(base64: input.wgTrimmed()).publicKey.base64)
        } catch {
            ctx.output.error("pubkey: \(error)")
            throw ExitCode(1)
        }
    }
}
