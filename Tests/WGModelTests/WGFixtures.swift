/// Keys for fixtures (made with `wg genkey` / `wg genpsk` for these tests only).
enum WGFixtures {
    static let priv = "OD+oOwZy2q2ygdayXwaENcySGBeAN9j7oS3vsmhuKXM="
    static let privPub = "MKtl7p0g5zVc0Ska1h9pkU/MLIwYRYGt4GmQx2aD7y0="
    static let peer1 = "xjsMDAIXrwbv7ybe0+qMy4Mvj8O4hD3F/K/dpAqZ1io="
    static let peer2 = "MKtl7p0g5zVc0Ska1h9pkU/MLIwYRYGt4GmQx2aD7y0="
    static let psk = "6Q9zFLEba75PqaDpsuEoklzOmReQkGtBKPVut741Qss="

    /// Exercises every key, mixed case, comments, lists with spaces, repeats, IPv6 and host names.
    static let full = """
    # site gateway
    [interface]
    privatekey = \(priv)   # trailing comment
    ListenPort=51820
    FwMark = 0x1234
    Address = 192.0.2.1/24, 2001:db8::1/64
    Address = 198.51.100.1
    DNS = 192.0.2.53,2001:db8::53 , example.com
    MTU = 1420
    Table = off
    PreUp = echo pre-up
    PostUp = iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE
    PostUp = echo second
    PreDown = echo pre-down
    PostDown = iptables -t nat -D POSTROUTING -o eth0 -j MASQUERADE
    SaveConfig = false

    # laptop
    [Peer]
    PublicKey = \(peer1)
    PresharedKey = \(psk)
    AllowedIPs = 192.0.2.2/32, 2001:db8::2/128
    AllowedIPs = 203.0.113.0/24
    Endpoint = [2001:db8::99]:51820
    PersistentKeepalive = 25

    [PEER]
    PUBLICKEY = \(peer2)
    Endpoint = vpn.example.com:4500
    persistentkeepalive = off
    """
}
