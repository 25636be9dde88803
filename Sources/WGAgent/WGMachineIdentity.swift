#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CSodium
import WGModel
import WGProvision

/// Which machine this is, as an enrollment remembers it: a Proxmox clone has the same disk (key, credential,
/// machine-id) but a new SMBIOS UUID and a new cloud-init instance-id.
public struct WGMachineIdentity: Codable, Sendable, Equatable {
    /// DMI product UUID (SMBIOS type 1): new for every Proxmox clone.
    public var productUUID: String?
    /// /etc/machine-id: the same on a clone of the disk, new where an image was prepared for cloning.
    public var machineID: String?
    /// cloud-init's instance-id: new for a clone, and also when Proxmox's cloud-init settings change.
    public var instanceID: String?

    public init(productUUID: String? = nil, machineID: String? = nil, instanceID: String? = nil) {
        self.productUUID = productUUID
        self.machineID = machineID
        self.instanceID = instanceID
    }

    enum CodingKeys: String, CodingKey {
        case productUUID = "product_uuid"
        case machineID = "machine_id"
        case instanceID = "instance_id"
    }

    public static func read(_ host: WGHost) -> WGMachineIdentity {
        func value(_ path: String) -> String? {
            guard let v = (try? host.readText(path))?.wgTrimmed(), !v.isEmpty else { return nil }
            return v.lowercased()
        }
        // QEMU without -smbios uuid= reports all zeros: no identity in that.
        let uuid = value("/sys/class/dmi/id/product_uuid").flatMap { $0.allSatisfy { $0 == "0" || $0 == "-" } ? nil : $0 }
        return WGMachineIdentity(productUUID: uuid, machineID: value("/etc/machine-id"),
                                 instanceID: value("/var/lib/cloud/data/instance-id"))
    }

    /// Why this machine is not the one `enrolled` describes, or nil when it is. The product UUID decides where
    /// both have one, else the machine-id. An instance-id change alone is not a clone: Proxmox derives it from the
    /// cloud-init settings, so editing them would otherwise throw a site's key away.
    public func change(from enrolled: WGMachineIdentity) -> String? {
        if let now = productUUID, let was = enrolled.productUUID {
            return now == was ? nil : "its DMI product UUID is \(now), the enrollment was made on \(was)"
        }
        if let now = machineID, let was = enrolled.machineID, now != was {
            return "its /etc/machine-id is \(now), the enrollment was made on \(was)"
        }
        return nil
    }

    /// What the hub sees of it: a hash (the hub needs to tell machines apart, not to know them).
    public var fingerprint: String {
        let text = Array("\(productUUID ?? "-")|\(machineID ?? "-")".utf8)
        var digest = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256(&digest, text, UInt64(text.count))
        return digest.prefix(12).map { String($0, radix: 16).leftPadded(2) }.joined()
    }
}

extension WGEnrollment {
    /// Why this machine is a clone of the one enrolled (see `WGMachineIdentity.change`), or nil.
    public func cloneReason(_ host: WGHost) -> String? {
        guard let machine else { return nil }
        return WGMachineIdentity.read(host).change(from: machine)
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
