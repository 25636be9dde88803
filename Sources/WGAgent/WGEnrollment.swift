#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WGModel
import WGProvision

/// What `wgagent enroll` remembers: how to reach the hub, the credential it gave, and its answer.
/// Kept in /var/lib/wgagent/enrollment.json, 0600 in a 0700 directory (the credential is a secret).
public struct WGEnrollment: Codable, Sendable, Equatable {
    public var hubURL: String
    public var pin: String?
    public var caFile: String?
    public var insecureHTTP: Bool
    /// Bearer credential for /v1/health and /v1/probe. Secret.
    public var credential: String
    public var siteID: Int64?
    public var hostname: String
    public var profile: String
    public var interface: String
    /// This site's public key when it enrolled: a different key on the machine means enrolling again.
    public var publicKey: String
    public var listenPort: Int
    /// The hub's answer.
    public var address: String
    public var hubPublicKey: String
    public var hubEndpoint: String
    public var allowedIPs: [String]
    public var keepalive: Int
    /// Profile values given to `enroll` with --var (applied again on every re-run).
    public var vars: [String]
    /// Unix seconds.
    public var enrolledAt: Int64
    /// The machine it was made on (nil in files of older agents): a clone notices and does not use it.
    public var machine: WGMachineIdentity?

    public init(
        hubURL: String, pin: String?, caFile: String?, insecureHTTP: Bool, credential: String, siteID: Int64?,
        hostname: String, profile: String, interface: String, publicKey: String, listenPort: Int, address: String,
        hubPublicKey: String, hubEndpoint: String, allowedIPs: [String], keepalive: Int, vars: [String], enrolledAt: Int64,
        machine: WGMachineIdentity? = nil
    ) {
        self.hubURL = hubURL
        self.pin = pin
        self.caFile = caFile
        self.insecureHTTP = insecureHTTP
        self.credential = credential
        self.siteID = siteID
        self.hostname = hostname
        self.profile = profile
        self.interface = interface
        self.publicKey = publicKey
        self.listenPort = listenPort
        self.address = address
        self.hubPublicKey = hubPublicKey
        self.hubEndpoint = hubEndpoint
        self.allowedIPs = allowedIPs
        self.keepalive = keepalive
        self.vars = vars
        self.enrolledAt = enrolledAt
        self.machine = machine
    }

    enum CodingKeys: String, CodingKey {
        case pin, credential, hostname, profile, interface, address, keepalive, vars
        case hubURL = "hub_url"
        case caFile = "ca_file"
        case insecureHTTP = "insecure_http"
        case siteID = "site_id"
        case publicKey = "public_key"
        case listenPort = "listen_port"
        case hubPublicKey = "hub_public_key"
        case hubEndpoint = "hub_endpoint"
        case allowedIPs = "allowed_ips"
        case enrolledAt = "enrolled_at"
        case machine
    }

    public var verification: WGTLSVerification { WGTLSVerification.from(pin: pin, caFile: caFile) }

    /// A client for this hub, verified the way enrollment was.
    public func client(connectTimeout: Double = 10, timeout: Double = 30) throws -> WGHTTPClient {
        try WGHTTPClient(baseURL: hubURL, verification: verification, allowInsecureHTTP: insecureHTTP,
                         connectTimeout: connectTimeout, timeout: timeout)
    }

    /// The profile values that come from the hub's answer (the profile's own names).
    public var hubValues: [String] {
        ["address=\(address)", "hub_endpoint=\(hubEndpoint)", "hub_public_key=\(hubPublicKey)", "keepalive=\(keepalive)",
         "listen_port=\(listenPort)"]
    }
}

extension WGTLSVerification {
    /// --pin and --ca-file as given: both, one, or neither (the system's CA bundle).
    public static func from(pin: String?, caFile: String?) -> WGTLSVerification {
        switch (pin, caFile) {
        case (let p?, let f?): return .caFileAndPin(f, p)
        case (let p?, nil): return .pin(p)
        case (nil, let f?): return .caFile(f)
        case (nil, nil): return .system
        }
    }
}

/// Reads and writes the enrollment file through the host seam.
public enum WGEnrollmentStore {
    public static let directory = WGState.directory
    public static let path = directory + "/enrollment.json"

    public static func exists(_ host: WGHost) -> Bool { host.fileExists(path) }

    public static func load(_ host: WGHost) throws -> WGEnrollment? {
        guard let data = try host.readFile(path) else { return nil }
        do { return try JSONDecoder().decode(WGEnrollment.self, from: data) } catch {
            throw WGEnrollmentFileError.unreadable(path: path, reason: "\(error)")
        }
    }

    /// Atomically, 0600, in /var/lib/wgagent (0700).
    public static func save(_ e: WGEnrollment, host: WGHost) throws {
        try ensureDirectory(host)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try host.writeFileAtomically(path, contents: try enc.encode(e) + Data("\n".utf8), permissions: 0o600)
    }

    /// /var/lib/wgagent with mode 0700 (made so when it was looser).
    public static func ensureDirectory(_ host: WGHost) throws {
        for dir in ["/var", "/var/lib"] where !host.fileExists(dir) { try host.makeDirectory(dir, permissions: 0o755) }
        try host.makeDirectory(directory, permissions: 0o700)
    }
}
