import CompressNIO
import Crypto
import Foundation
import NIOCore
import WGModel
import WGProcess

/// What the hub says about the agent binaries it serves (`GET /v1/agent`, the store's meta `agent`, the dashboard,
/// `wghub token create`). No bytes: those stay in `WGAgentBundle`.
public struct WGAgentInfo: Sendable, Codable, Equatable {
    public struct Binary: Sendable, Codable, Equatable {
        public var arch: String
        public var size: Int
        /// SHA-256 of the file, lower-case hex.
        public var sha256: String
        /// What `FILE --version` printed (nil when it could not run here, e.g. another architecture).
        public var version: String?
        /// The download path on the hub, `/v1/agent/ARCH`.
        public var path: String
        /// Bytes on the wire for a client that accepts gzip (the bootstrap script does, where gzip is installed).
        public var gzipSize: Int?

        enum CodingKeys: String, CodingKey {
            case arch, size, sha256, version, path
            case gzipSize = "gzip_size"
        }
    }

    /// The agent's version (the native binary's, else any known one); "unknown" when none could be read.
    public var version: String
    /// The hub's own version, for comparison.
    public var hubVersion: String
    public var architectures: [String: Binary]

    enum CodingKeys: String, CodingKey {
        case version, architectures
        case hubVersion = "hub_version"
    }

    /// "0.1.0 (x86_64 sha256 1a2b3c4d5e6f…)": for summaries and the dashboard.
    public var summary: String {
        let each = architectures.keys.sorted().map { "\($0) sha256 \(architectures[$0]!.sha256.prefix(12))…" }
        return "\(version) (\(each.joined(separator: ", ")))"
    }

    /// The store's meta key `serve` records it under, for CLI processes (`token create`).
    public static let metaKey = "agent"

    public static func fromMeta(_ text: String?) -> WGAgentInfo? {
        guard let text, !text.isEmpty else { return nil }
        return try? JSONDecoder().decode(WGAgentInfo.self, from: Data(text.utf8))
    }

    public var metaText: String { String(decoding: (try? WGHubJSON.encoder.encode(self)) ?? Data(), as: UTF8.self) }
}

/// One agent binary held in memory: read and hashed once at start; every download answers with the same buffer
/// (a ByteBuffer shares its storage, so a response does not copy the file).
public struct WGAgentBinary: Sendable {
    public let info: WGAgentInfo.Binary
    public let file: String
    public let bytes: ByteBuffer
    /// The same, gzip-compressed once at load (level 9): what a client that accepts gzip is sent.
    public let gzip: ByteBuffer?
}

/// The agent binaries `wghub serve` hands out, by architecture. Empty (with `problems` saying why) when none
/// could be loaded: serve still runs, and `/v1/agent` answers 404 naming `--agent-binary`.
public struct WGAgentBundle: Sendable {
    public let binaries: [String: WGAgentBinary]
    public let info: WGAgentInfo?
    /// Why a file was not loaded; serve logs them as warnings.
    public let problems: [String]

    public static let none = WGAgentBundle(binaries: [:], problems: [])

    /// Largest file taken: the release agent is ~15 MB, a debug build ~10 times that.
    public static let maxSize = 512 * 1024 * 1024

    public init(binaries: [String: WGAgentBinary], problems: [String]) {
        self.binaries = binaries
        self.problems = problems
        if binaries.isEmpty {
            info = nil
        } else {
            let native = binaries[WGAgentBundle.hostArch ?? ""]?.info.version
            let version = native ?? binaries.keys.sorted().compactMap { binaries[$0]!.info.version }.first ?? "unknown"
            info = WGAgentInfo(version: version, hubVersion: WGModelVersion.agentVersion, architectures: binaries.mapValues(\.info))
        }
    }

    /// The files to load: the given ones (`--agent-binary`, one per architecture), else a `wgagent` beside the running
    /// executable, else /usr/local/bin/wgagent.
    public static func candidates(given: [String], executable: String? = WGAgentBundle.runningExecutable) -> [String] {
        if !given.isEmpty { return given }
        var list: [String] = []
        if let executable { list.append((executable as NSString).deletingLastPathComponent + "/wgagent") }
        list.append("/usr/local/bin/wgagent")
        return [list.first(where: { FileManager.default.fileExists(atPath: $0) }) ?? list[0]]
    }

    public static var runningExecutable: String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
    }

    /// Reads, checks and hashes each file on a blocking-work thread (never the cooperative pool); runs a binary of
    /// this machine's architecture with `--version` (5 s at most) to learn its version.
    public static func load(files: [String], readVersion: Bool = true) async -> WGAgentBundle {
        let result = try? await WGBlockingWork.run { loadNow(files: files, readVersion: readVersion) }
        return result ?? WGAgentBundle(binaries: [:], problems: ["could not read the agent binaries (the hub is shutting down)"])
    }

    static func loadNow(files: [String], readVersion: Bool) -> WGAgentBundle {
        var binaries: [String: WGAgentBinary] = [:]
        var problems: [String] = []
        for file in files {
            do {
                let b = try loadOne(file, readVersion: readVersion)
                if let other = binaries[b.info.arch] {
                    problems.append("\(file): a second \(b.info.arch) agent (\(other.file) is served): ignored")
                    continue
                }
                binaries[b.info.arch] = b
            } catch {
                problems.append("\(file): \(error)")
            }
        }
        return WGAgentBundle(binaries: binaries, problems: problems)
    }

    static func loadOne(_ file: String, readVersion: Bool) throws -> WGAgentBinary {
        guard FileManager.default.fileExists(atPath: file) else { throw WGAgentBinaryError("no such file") }
        let attrs: [FileAttributeKey: Any]
        do { attrs = try FileManager.default.attributesOfItem(atPath: (file as NSString).resolvingSymlinksInPath) } catch {
            throw WGAgentBinaryError("cannot read it (\(Self.reason(error)))")
        }
        guard (attrs[.type] as? FileAttributeType) == .typeRegular else { throw WGAgentBinaryError("not a regular file") }
        let size = (attrs[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxSize else { throw WGAgentBinaryError("\(size) bytes: larger than \(maxSize)") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw WGAgentBinaryError("cannot read it (\(Self.reason(error)))")
        }
        let arch = try elfArchitecture(data)
        let sha = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        var version: String?
        if readVersion, arch == hostArch {
            if let r = try? WGCommand([file, "--version"], timeout: .seconds(5)).run(), r.succeeded {
                version = try? sanitizeVersion(r.stdout)
            }
        }
        let bytes = ByteBuffer(bytes: data)
        let gzip = compressed(bytes)
        let info = WGAgentInfo.Binary(arch: arch, size: data.count, sha256: sha, version: version, path: "/v1/agent/\(arch)",
                                      gzipSize: gzip?.readableBytes)
        return WGAgentBinary(info: info, file: file, bytes: bytes, gzip: gzip)
    }

    /// gzip at level 9, in a buffer of its own size (the compressor allocates for the worst case); nil when it
    /// would not be smaller.
    static func compressed(_ bytes: ByteBuffer) -> ByteBuffer? {
        var input = bytes
        guard let out = try? input.compress(with: .gzip(configuration: .init(compressionLevel: .bestCompression))),
              out.readableBytes < bytes.readableBytes else { return nil }
        return ByteBuffer(bytes: out.readableBytesView)
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(u.code)))
        }
        return ns.localizedDescription
    }

    /// The architecture of a 64-bit little-endian ELF executable: x86_64 or aarch64. Anything else is refused.
    public static func elfArchitecture(_ data: Data) throws -> String {
        let b = [UInt8](data.prefix(20))
        guard b.count == 20, b[0] == 0x7f, b[1] == 0x45, b[2] == 0x4c, b[3] == 0x46 else {
            throw WGAgentBinaryError("not an ELF executable (a wgagent built for Linux is one)")
        }
        guard b[4] == 2, b[5] == 1 else { throw WGAgentBinaryError("not a 64-bit little-endian ELF file") }
        switch UInt16(b[18]) | UInt16(b[19]) << 8 {
        case 62: return "x86_64"
        case 183: return "aarch64"
        case let m: throw WGAgentBinaryError("ELF machine \(m) is neither x86_64 (62) nor aarch64 (183)")
        }
    }

    /// This machine's architecture in the same words (uname's machine).
    public static let hostArch: String? = {
        var u = utsname()
        guard uname(&u) == 0 else { return nil }
        let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        switch machine {
        case "x86_64", "amd64": return "x86_64"
        case "aarch64", "arm64": return "aarch64"
        default: return machine
        }
    }()

    /// First line of `--version`, printable ASCII, at most 64 characters; nil when nothing is left.
    static func sanitizeVersion(_ output: String) -> String? {
        let line = output.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let clean = String(line.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7f }.map(Character.init).prefix(64))
            .trimmingCharacters(in: .whitespaces)
        return clean.isEmpty ? nil : clean
    }
}

public struct WGAgentBinaryError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
