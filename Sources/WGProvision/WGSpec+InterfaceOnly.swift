/// A spec that knows only the profile's interface: what the `keys` resource needs before enrollment, when the
/// address and the hub's key are not known yet.
extension WGSpec {
    public static func interfaceOnly(profile: WGProfile) -> WGSpec {
        WGSpec(
            profileName: profile.name, role: profile.role, interface: profile.interface, addresses: [], listenPort: nil,
            peers: [], dns: [], forwarding: false, lanAccess: nil, lanSubnets: [], masqueradeSources: [], firewall: false,
            adminUser: nil, adminSSHKey: nil, guestAgent: "no")
    }
}
