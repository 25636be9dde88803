import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import WGModel
import X509

/// The hub's TLS identity: given files, or a key and self-signed certificate created in the data folder on
/// first start (both 0600) and reused after. The pin is `sha256//BASE64` of the certificate's
/// SubjectPublicKeyInfo, as curl's `--pinnedpubkey` / `CURLOPT_PINNEDPUBLICKEY` take it.
public struct WGTLSIdentity: Sendable {
    public let certificatePath: String
    public let keyPath: String
    public let pin: String
    public let created: Bool

    public static let certificateFile = "hub-cert.pem"
    public static let keyFile = "hub-key.pem"

    /// Loads the given files, or the ones in `dataDirectory`, creating them when absent.
    public static func loadOrCreate(
        dataDirectory: String, certificatePath: String? = nil, keyPath: String? = nil, hostNames: [String] = []
    ) throws -> WGTLSIdentity {
        if let certificatePath, let keyPath {
            _ = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            return WGTLSIdentity(certificatePath: certificatePath, keyPath: keyPath, pin: try pin(certificatePath: certificatePath), created: false)
        }
        if (certificatePath == nil) != (keyPath == nil) {
            throw WGTLSBootstrapError("--tls-cert and --tls-key go together: give both, or neither to use a self-signed certificate")
        }
        let cert = (dataDirectory as NSString).appendingPathComponent(certificateFile)
        let key = (dataDirectory as NSString).appendingPathComponent(keyFile)
        let fm = FileManager.default
        var created = false
        if !fm.fileExists(atPath: cert) || !fm.fileExists(atPath: key) {
            try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let (certPEM, keyPEM) = try makeSelfSigned(hostNames: hostNames)
            try writeSecret(keyPEM, to: key)
            try writeSecret(certPEM, to: cert)
            created = true
        }
        return WGTLSIdentity(certificatePath: cert, keyPath: key, pin: try pin(certificatePath: cert), created: created)
    }

    /// The pin of the first (leaf) certificate in a PEM file.
    public static func pin(certificatePath: String) throws -> String {
        let certs = try NIOSSLCertificate.fromPEMFile(certificatePath)
        guard let leaf = certs.first else { throw WGTLSBootstrapError("\(certificatePath): no certificate in this PEM file") }
        let spki = try leaf.extractPublicKey().toSPKIBytes()
        return "sha256//" + Data(SHA256.hash(data: spki)).base64EncodedString()
    }

    public func serverConfiguration() throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        config.minimumTLSVersion = .tlsv12
        return config
    }

    /// A P-256 key and a 10-year self-signed certificate naming `hostNames` (DNS names or IP literals) plus
    /// localhost, 127.0.0.1 and ::1.
    static func makeSelfSigned(hostNames: [String]) throws -> (cert: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CommonName("wghub")
            OrganizationName("wghub self-signed")
        }
        var sans: [GeneralName] = []
        var seen = Set<String>()
        for host in hostNames + ["localhost", "127.0.0.1", "::1"] where !host.isEmpty && seen.insert(host).inserted {
            if let ip = try? WGIPAddress(host) {
                sans.append(.ipAddress(ASN1OctetString(contentBytes: ip.bytes[...])))
            } else if host != "0.0.0.0" && host != "::" {
                sans.append(.dnsName(host))
            }
        }
        let now = Date()
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(sans)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: .init(key))
        return (try certificate.serializeAsPEM().pemString + "\n", key.pemRepresentation + "\n")
    }

    static func writeSecret(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw WGTLSBootstrapError("\(path): cannot create (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw WGTLSBootstrapError("\(path): write failed (\(String(cString: strerror(errno))))") }
            off += n
        }
        fsync(fd)
    }
}

public struct WGTLSBootstrapError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
