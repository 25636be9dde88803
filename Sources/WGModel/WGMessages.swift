// The JSON messages wgagent and wghub exchange. Keys are snake_case on the wire; every type spells its
// CodingKeys out so that neither side depends on an encoder's key strategy.

/// `POST /v1/enroll` body.
public struct WGEnrollRequest: Codable, Sendable, Equatable {
    public var token: String
    public var publicKey: String
    public var hostname: String
    public var listenPort: Int
    public var os: String?
    public var agentVersion: String?
    public var lanSubnets: [String]
    /// A hash of the machine's identity (DMI product UUID, machine-id): the hub tells two machines with one
    /// credential apart by it.
    public var machine: String?

    public init(
        token: String, publicKey: String, hostname: String, listenPort: Int,
        os: String? = nil, agentVersion: String? = nil, lanSubnets: [String] = [], machine: String? = nil
    ) {
        self.token = token
        self.publicKey = publicKey
        self.hostname = hostname
        self.listenPort = listenPort
        self.os = os
        self.agentVersion = agentVersion
        self.lanSubnets = lanSubnets
        self.machine = machine
    }

    enum CodingKeys: String, CodingKey {
        case token, hostname, os, machine
        case publicKey = "public_key"
        case listenPort = "listen_port"
        case agentVersion = "agent_version"
        case lanSubnets = "lan_subnets"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        token = try c.decode(String.self, forKey: .token)
        publicKey = try c.decode(String.self, forKey: .publicKey)
        hostname = try c.decode(String.self, forKey: .hostname)
        listenPort = try c.decode(Int.self, forKey: .listenPort)
        os = try c.decodeIfPresent(String.self, forKey: .os)
        agentVersion = try c.decodeIfPresent(String.self, forKey: .agentVersion)
        lanSubnets = try c.decodeIfPresent([String].self, forKey: .lanSubnets) ?? []
        machine = try c.decodeIfPresent(String.self, forKey: .machine)
    }
}

/// `POST /v1/enroll` answer: everything the agent needs to write its wg0.conf peer section.
public struct WGEnrollResponse: Codable, Sendable, Equatable {
    /// The site's tunnel address with the pool's prefix length, e.g. `192.0.2.2/24`.
    public var address: String
    public var hubPublicKey: String
    /// `HOST:PORT` of the hub's WireGuard interface.
    public var hubEndpoint: String
    /// What the agent puts in the hub peer's AllowedIPs.
    public var allowedIPs: [String]
    /// PersistentKeepalive in seconds.
    public var keepalive: Int
    /// Per-agent secret for `Authorization: Bearer` on later calls. Shown once; the hub keeps only a hash.
    public var credential: String
    /// The source address the hub saw this request come from.
    public var observedAddress: String?
    public var siteID: Int64?

    public init(
        address: String, hubPublicKey: String, hubEndpoint: String, allowedIPs: [String], keepalive: Int,
        credential: String, observedAddress: String?, siteID: Int64? = nil
    ) {
        self.address = address
        self.hubPublicKey = hubPublicKey
        self.hubEndpoint = hubEndpoint
        self.allowedIPs = allowedIPs
        self.keepalive = keepalive
        self.credential = credential
        self.observedAddress = observedAddress
        self.siteID = siteID
    }

    enum CodingKeys: String, CodingKey {
        case address, keepalive, credential
        case hubPublicKey = "hub_public_key"
        case hubEndpoint = "hub_endpoint"
        case allowedIPs = "allowed_ips"
        case observedAddress = "observed_address"
        case siteID = "site_id"
    }

    /// `observed_address` is always present (null when unknown), so agents can rely on the key.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encode(hubPublicKey, forKey: .hubPublicKey)
        try c.encode(hubEndpoint, forKey: .hubEndpoint)
        try c.encode(allowedIPs, forKey: .allowedIPs)
        try c.encode(keepalive, forKey: .keepalive)
        try c.encode(credential, forKey: .credential)
        try c.encode(observedAddress, forKey: .observedAddress)
        try c.encodeIfPresent(siteID, forKey: .siteID)
    }
}

/// One peer of the agent's interface, as `wg show NAME dump` gave it.
public struct WGHealthPeer: Codable, Sendable, Equatable {
    public var publicKey: String
    public var endpoint: String?
    /// Unix seconds; 0 = never.
    public var latestHandshake: Int64
    public var receiveBytes: Int64
    public var transmitBytes: Int64

    public init(publicKey: String, endpoint: String?, latestHandshake: Int64, receiveBytes: Int64, transmitBytes: Int64) {
        self.publicKey = publicKey
        self.endpoint = endpoint
        self.latestHandshake = latestHandshake
        self.receiveBytes = receiveBytes
        self.transmitBytes = transmitBytes
    }

    enum CodingKeys: String, CodingKey {
        case endpoint
        case publicKey = "public_key"
        case latestHandshake = "latest_handshake"
        case receiveBytes = "rx_bytes"
        case transmitBytes = "tx_bytes"
    }
}

/// One doctor / resource check result.
public struct WGHealthCheck: Codable, Sendable, Equatable {
    public var name: String
    public var ok: Bool
    public var detail: String?

    public init(name: String, ok: Bool, detail: String? = nil) {
        self.name = name
        self.ok = ok
        self.detail = detail
    }
}

/// The nonce the agent saw (or did not see) for a port-forward probe.
public struct WGProbeResult: Codable, Sendable, Equatable {
    public var probeID: String?
    /// The nonce read from the datagram, or nil when nothing arrived before the agent gave up.
    public var nonce: String?
    /// The agent's verdict in words (forwarded; not reaching the VM; reaching the VM but dropped by its
    /// firewall), shown on the dashboard. The hub's own verdict (open/closed/mismatch) comes from the nonce.
    public var verdict: String?

    /// The verdicts an agent may send.
    public static let agentVerdicts = ["forwarded", "not reaching the VM", "reaching the VM but dropped by its firewall"]

    public init(probeID: String? = nil, nonce: String?, verdict: String? = nil) {
        self.probeID = probeID
        self.nonce = nonce
        self.verdict = verdict
    }

    enum CodingKeys: String, CodingKey {
        case nonce, verdict
        case probeID = "probe_id"
    }
}

/// `POST /v1/health` body (with `Authorization: Bearer CREDENTIAL`).
public struct WGHealthReport: Codable, Sendable, Equatable {
    /// Increases by one per report; a sequence number the hub already has is acknowledged, not stored twice.
    public var seq: Int64
    /// The agent's clock, Unix seconds.
    public var agentTime: Int64
    public var interface: String
    public var listenPort: Int?
    public var peers: [WGHealthPeer]
    public var forwarding: Bool?
    /// e.g. "active", "inactive", "absent".
    public var firewall: String?
    /// e.g. "active", "failed".
    public var service: String?
    public var checks: [WGHealthCheck]
    /// Probe nonces seen since the last report (optional, alternative to `POST /v1/probe/{id}/result`).
    public var probeResults: [WGProbeResult]?
    /// The reporting machine's identity hash (see `WGEnrollRequest.machine`).
    public var machine: String?

    public init(
        seq: Int64, agentTime: Int64, interface: String, listenPort: Int? = nil, peers: [WGHealthPeer] = [],
        forwarding: Bool? = nil, firewall: String? = nil, service: String? = nil, checks: [WGHealthCheck] = [],
        probeResults: [WGProbeResult]? = nil, machine: String? = nil
    ) {
        self.seq = seq
        self.agentTime = agentTime
        self.interface = interface
        self.listenPort = listenPort
        self.peers = peers
        self.forwarding = forwarding
        self.firewall = firewall
        self.service = service
        self.checks = checks
        self.probeResults = probeResults
        self.machine = machine
    }

    enum CodingKeys: String, CodingKey {
        case seq, interface, peers, forwarding, firewall, service, checks, machine
        case agentTime = "agent_time"
        case listenPort = "listen_port"
        case probeResults = "probe_results"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seq = try c.decode(Int64.self, forKey: .seq)
        agentTime = try c.decode(Int64.self, forKey: .agentTime)
        interface = try c.decode(String.self, forKey: .interface)
        listenPort = try c.decodeIfPresent(Int.self, forKey: .listenPort)
        peers = try c.decodeIfPresent([WGHealthPeer].self, forKey: .peers) ?? []
        forwarding = try c.decodeIfPresent(Bool.self, forKey: .forwarding)
        firewall = try c.decodeIfPresent(String.self, forKey: .firewall)
        service = try c.decodeIfPresent(String.self, forKey: .service)
        checks = try c.decodeIfPresent([WGHealthCheck].self, forKey: .checks) ?? []
        probeResults = try c.decodeIfPresent([WGProbeResult].self, forKey: .probeResults)
        machine = try c.decodeIfPresent(String.self, forKey: .machine)
    }
}

/// `POST /v1/health` answer.
public struct WGHealthAck: Codable, Sendable, Equatable {
    public var seq: Int64
    /// false when this sequence number was already stored (the report was acknowledged, not stored again).
    public var stored: Bool
    /// The site's status as the hub sees it now: online, stale or offline.
    public var status: String

    public init(seq: Int64, stored: Bool, status: String) {
        self.seq = seq
        self.stored = stored
        self.status = status
    }
}

/// `POST /v1/probe` body: the UDP port the agent wants checked from outside.
public struct WGProbeRequest: Codable, Sendable, Equatable {
    public var port: Int
    public init(port: Int) { self.port = port }
}

/// `POST /v1/probe` answer.
public struct WGProbeResponse: Codable, Sendable, Equatable {
    public var probeID: String
    /// `ADDRESS:PORT` (IPv6 in brackets) the datagram was sent to.
    public var sentTo: String

    public init(probeID: String, sentTo: String) {
        self.probeID = probeID
        self.sentTo = sentTo
    }

    enum CodingKeys: String, CodingKey {
        case probeID = "probe_id"
        case sentTo = "sent_to"
    }
}

/// `POST /v1/probe/{id}/result` answer (and the verdict stored per site).
public struct WGProbeVerdict: Codable, Sendable, Equatable {
    public var probeID: String
    /// "open" (the nonce arrived), "closed" (nothing arrived) or "mismatch" (a different nonce arrived).
    public var verdict: String

    public init(probeID: String, verdict: String) {
        self.probeID = probeID
        self.verdict = verdict
    }

    enum CodingKeys: String, CodingKey {
        case verdict
        case probeID = "probe_id"
    }
}

/// The payload of the UDP datagram a probe sends: `WGHUB-PROBE 1 PROBE_ID NONCE\n`, ASCII.
public enum WGProbeDatagram {
    public static let magic = "WGHUB-PROBE"

    public static func encode(probeID: String, nonce: String) -> [UInt8] {
        Array("\(magic) 1 \(probeID) \(nonce)\n".utf8)
    }

    /// (probeID, nonce) when `bytes` is a probe datagram.
    public static func decode(_ bytes: some Collection<UInt8>) -> (probeID: String, nonce: String)? {
        guard bytes.count < 512, let text = String(validating: Array(bytes), as: UTF8.self) else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 4, parts[0] == magic, parts[1] == "1" else { return nil }
        return (String(parts[2]), String(parts[3]))
    }
}

/// Every refusal from the hub has this JSON body.
public struct WGErrorBody: Codable, Sendable, Equatable, Error {
    /// Machine-readable reason, e.g. "token_expired", "invalid_field".
    public var error: String
    /// A sentence for people, saying what to do.
    public var message: String
    /// The request field at fault, for 400s.
    public var field: String?

    public init(error: String, message: String, field: String? = nil) {
        self.error = error
        self.message = message
        self.field = field
    }
}
