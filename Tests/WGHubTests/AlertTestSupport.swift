import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import WGModel
import XCTest
import WGProcess

@testable import WGHub

/// A real webhook receiver: Hummingbird on 127.0.0.1, recording every request, checking each signature with the
/// receiver's own HMAC (swift-crypto here, not the hub's code), answering `status` (503 plays a receiver in trouble; 0 one that hangs).
final class WebhookReceiver: @unchecked Sendable {
    struct Hit: Sendable {
        var headers: [String: String]
        var body: Data
        var signatureOK: Bool
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    }
    let secret: String?
    private let lock = NSLock()
    private var hits: [Hit] = []
    private var answer = 200
    private var words = ""
    private var task: Task<Void, Error>?

    init(secret: String?) { self.secret = secret }

    var received: [Hit] { lock.withLock { hits } }
    var status: Int {
        get { lock.withLock { answer } }
        set { lock.withLock { answer = newValue } }
    }
    /// The body of its answers (empty by default).
    var answerBody: String {
        get { lock.withLock { words } }
        set { lock.withLock { words = newValue } }
    }

    /// Starts on `port` (0: any) and returns the bound port.
    func start(port: Int = 0) async throws -> Int {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            var request = request
            let body = Data((try await request.collectBody(upTo: 1 << 20)).readableBytesView)
            var headers: [String: String] = [:]
            for f in request.headers { headers[f.name.canonicalName.lowercased()] = f.value }
            var ok = false
            if let secret = self.secret, let sig = headers["x-wghub-signature"] {
                let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
                ok = sig == "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
            }
            let (status, words) = self.lock.withLock { () -> (Int, String) in
                self.hits.append(Hit(headers: headers, body: body, signatureOK: ok))
                return (self.answer, self.words)
            }
            if status == 0 { try? await Task.sleep(for: .seconds(120)) }  // a receiver that takes the request and hangs
            return Response(status: .init(code: status == 0 ? 200 : status), body: .init(byteBuffer: ByteBuffer(string: words)))
        }
        let (bound, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        task = Task { try await app.runService() }
        for await p in bound { return p }
        throw XCTSkip("receiver did not start")
    }

    func stop() async {
        task?.cancel()
        _ = try? await task?.value
        task = nil
    }
}

/// A helper of tests/alerts run by /usr/bin/python3 (with aiosmtpd where needed), stopped by PID.
final class PythonSink: @unchecked Sendable {
    let dir: String
    let port: Int
    let process = Process()

    static func python(needs module: String) -> String? {
        for p in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: p) {
            let check = Process()
            check.executableURL = URL(fileURLWithPath: p)
            check.arguments = ["-c", "import \(module)"]
            check.standardError = FileHandle.nullDevice
            guard (try? check.run()) != nil else { continue }
            check.waitUntilExit()
            if check.terminationStatus == 0 { return p }
        }
        return nil
    }

    /// Starts `tests/alerts/SCRIPT OUTDIR ARGS…` and waits (bounded) for its "READY PORT".
    init(script: String, needs module: String = "json", dir: String, args: [String]) throws {
        guard let python = Self.python(needs: module) else { throw XCTSkip("no python3 with \(module) (scripts/install-deps.sh installs it)") }
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [packageRoot.appendingPathComponent("tests/alerts/\(script)").path, dir + "/out"] + args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("\n"), Date() < deadline {
            let chunk = out.fileHandleForReading.availableData  // ends (empty) when the process exits
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix("READY "), let p = Int(line.dropFirst(6)) else {
            process.terminate()
            throw XCTSkip("\(script) did not start: \(text)")
        }
        port = p
    }

    /// out/N.json in order.
    func records() -> [[String: Any]] {
        var out: [[String: Any]] = []
        for i in 1... {
            guard let d = try? Data(contentsOf: URL(fileURLWithPath: dir + "/out/\(i).json")),
                  let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { break }
            out.append(o)
        }
        return out
    }

    func stop() {
        if process.isRunning { process.terminate() }  // SIGTERM (SIGINT may be ignored, inherited from the runner)
        let end = Date().addingTimeInterval(5)
        while process.isRunning && Date() < end { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A self-signed certificate for localhost and 127.0.0.1 (openssl), as (certificate, key) paths in `dir`.
func selfSignedCertificate(dir: String) throws -> (String, String) {
    let r = try WGCommand(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-addext",
                           "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "1"],
                          timeout: .seconds(60)).run()
    guard r.succeeded else { throw ProcessFailure("openssl could not make a certificate: \(r.stderr)") }
    return (dir + "/cert.pem", dir + "/key.pem")
}

/// aiosmtpd (tests/alerts/smtp_sink.py) with STARTTLS (a self-signed certificate for localhost) and AUTH required.
final class SMTPSink: @unchecked Sendable {
    let sink: PythonSink
    let certificate: String
    var port: Int { sink.port }

    init(user: String, password: String) throws {
        let dir = try makeTempDir("smtp")
        let (cert, key) = try selfSignedCertificate(dir: dir)
        certificate = cert
        sink = try PythonSink(script: "smtp_sink.py", needs: "aiosmtpd", dir: dir, args: [cert, key, user, password])
    }

    /// The messages received: raw text and the sink's notes (envelope, login, tls).
    var messages: [(raw: String, meta: [String: Any])] {
        zip(1..., sink.records()).compactMap { i, meta in
            (try? String(contentsOfFile: sink.dir + "/out/\(i).eml", encoding: .utf8)).map { ($0, meta) }
        }
    }

    func stop() { sink.stop() }
}

/// The decoded text body of a mail from the sink (base64 part).
func mailBody(_ raw: String) -> String {
    let parts = raw.components(separatedBy: "\r\n\r\n").count > 1 ? raw.components(separatedBy: "\r\n\r\n") : raw.components(separatedBy: "\n\n")
    let b64 = parts.dropFirst().joined().filter { !$0.isWhitespace }
    return Data(base64Encoded: b64).map { String(decoding: $0, as: UTF8.self) } ?? ""
}

func mailHeader(_ raw: String, _ name: String) -> String? {
    for line in raw.split(whereSeparator: \.isNewline) where line.lowercased().hasPrefix(name.lowercased() + ":") {
        return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
    }
    return nil
}
