import PacketWire

/// How a VXLAN device chooses the outer TTL (`ip link ... type vxlan ttl auto|inherit|N`).
public enum TTLPolicy: Hashable, Sendable, CustomStringConvertible {
    /// The route's hop limit (Linux `ip_default_ttl`, 64); 1 toward a multicast group.
    case auto
    /// Copy the inner IPv4 TTL or IPv6 hop limit.
    case inherit
    case fixed(UInt8)

    public var description: String {
        switch self {
        case .auto: "auto"
        case .inherit: "inherit"
        case .fixed(let ttl): "\(ttl)"
        }
    }
}

/// How the outer type-of-service byte is chosen (`tos inherit|N`). ECN is always derived from the inner
/// header (RFC 6040 §4.1 normal mode), whatever this says.
public enum TOSPolicy: Hashable, Sendable, CustomStringConvertible {
    /// Copy the inner IPv4 TOS or IPv6 traffic class.
    case inherit
    case fixed(UInt8)

    public var description: String {
        switch self {
        case .inherit: "inherit"
        case .fixed(let tos): String(format16: tos)
        }
    }
}

/// Whether outer IPv4 packets carry Don't Fragment (`df unset|set|inherit`).
public enum DFPolicy: String, Hashable, Sendable, CustomStringConvertible {
    /// Linux's default: the underlay may fragment the outer packet.
    case unset
    case set
    /// DF when the inner packet is IPv4 with DF, or is IPv6 (which routers never fragment).
    case inherit

    public var description: String { rawValue }
}

/// The settings of one VXLAN device, named as `ip link add ... type vxlan` names them. Only settings that
/// change bytes on the wire are here.
public struct TunnelConfiguration: Hashable, Sendable {
    /// `id`: the 24-bit VXLAN network identifier.
    public var vni: UInt32
    /// `dstport`: IANA's 4789 by default; Linux's own default is 8472, which Flannel keeps.
    public var destinationPort: UInt16
    /// `srcport MIN MAX`: outer source ports are drawn from `MIN..<MAX`, as Linux's `udp_flow_src_port`
    /// scales the flow hash (the upper bound is never used). Linux's default is the ephemeral range.
    public var sourcePortRange: Range<UInt16>
    public var ttl: TTLPolicy
    public var tos: TOSPolicy
    public var df: DFPolicy
    /// `udpcsum` / `noudpcsum`: compute the outer UDP checksum over IPv4 (Linux 6.x default: on).
    public var udpChecksum: Bool
    /// `udp6zerocsumtx`: send a zero UDP checksum over IPv6 (RFC 6935).
    public var udp6ZeroChecksumTx: Bool
    /// `udp6zerocsumrx`: accept a zero UDP checksum over IPv6.
    public var udp6ZeroChecksumRx: Bool
    /// `gbp`: carry the group policy extension (the packet's mark) in the VXLAN header.
    public var groupBasedPolicy: Bool
    /// `external` (`VXLAN_F_COLLECT_METADATA`): the device belongs to no one VNI. Each packet's VNI comes
    /// from its tunnel key on transmit (``EncapsulationOverrides/vni``, what a BPF program sets with
    /// `bpf_skb_set_tunnel_key`), and any VNI is received, handed up as metadata: drivers/net/vxlan/
    /// vxlan_core.c `vxlan_vs_find_vni` looks up VNI 0 for such a socket, whatever the header says. Cilium's
    /// `cilium_vxlan` is made this way, and its programs put the sender's security identity there.
    public var collectMetadata = false
    /// `local`: the underlay address packets leave from.
    public var local: IPAddress
    /// `remote`: the default far VTEP, used when a packet's destination is not given.
    public var remote: IPAddress?
    /// MAC address of the underlay interface (the outer source MAC).
    public var underlaySourceMAC: MACAddress
    /// MAC address of the underlay next hop for `remote` (the outer destination MAC).
    public var underlayNextHopMAC: MACAddress
    /// Seed of the flow hash that picks source ports (and IPv6 flow labels): Linux seeds it randomly at
    /// boot; a simulation seeds it from the scenario so runs repeat.
    public var flowHashSeed: UInt32

    /// Linux's `net.ipv4.ip_local_port_range` default, used when `srcport` is not given.
    public static let linuxEphemeralPorts: Range<UInt16> = 32768..<61000
    /// RFC 7348 §5's recommendation for the source port range.
    public static let rfc7348SourcePorts: Range<UInt16> = 49152..<65535
    public static let ianaPort: UInt16 = 4789
    public static let linuxDefaultPort: UInt16 = 8472

    public init(vni: UInt32, local: IPAddress, remote: IPAddress? = nil,
                destinationPort: UInt16 = TunnelConfiguration.ianaPort,
                sourcePortRange: Range<UInt16> = TunnelConfiguration.linuxEphemeralPorts,
                ttl: TTLPolicy = .auto, tos: TOSPolicy = .fixed(0), df: DFPolicy = .unset,
                udpChecksum: Bool = true, udp6ZeroChecksumTx: Bool = false, udp6ZeroChecksumRx: Bool = false,
                groupBasedPolicy: Bool = false,
                underlaySourceMAC: MACAddress = .zero, underlayNextHopMAC: MACAddress = .zero,
                flowHashSeed: UInt32 = 0) {
        self.vni = vni & 0xFF_FFFF
        self.local = local
        self.remote = remote
        self.destinationPort = destinationPort
        self.sourcePortRange = sourcePortRange
        self.ttl = ttl
        self.tos = tos
        self.df = df
        self.udpChecksum = udpChecksum
        self.udp6ZeroChecksumTx = udp6ZeroChecksumTx
        self.udp6ZeroChecksumRx = udp6ZeroChecksumRx
        self.groupBasedPolicy = groupBasedPolicy
        self.underlaySourceMAC = underlaySourceMAC
        self.underlayNextHopMAC = underlayNextHopMAC
        self.flowHashSeed = flowHashSeed
    }

    /// Bytes added in front of the inner frame: outer Ethernet, IP, UDP and VXLAN headers. 50 over IPv4,
    /// 70 over IPv6.
    public var overhead: Int { TunnelEndpoint.overhead(ipv6: local.isIPv6) }

    /// The settings as `ip -d link show` prints them, for reports and logs.
    public var ipLinkDescription: String {
        var words = [collectMetadata ? "vxlan external" : "vxlan id \(vni)"]
        if let remote { words.append("remote \(remote)") }
        words.append("local \(local)")
        words.append("srcport \(sourcePortRange.lowerBound) \(sourcePortRange.upperBound)")
        words.append("dstport \(destinationPort)")
        words.append("ttl \(ttl)")
        if case .fixed(0) = tos {} else { words.append("tos \(tos)") }
        words.append("df \(df)")
        words.append(udpChecksum ? "udpcsum" : "noudpcsum")
        if udp6ZeroChecksumTx { words.append("udp6zerocsumtx") }
        if udp6ZeroChecksumRx { words.append("udp6zerocsumrx") }
        if groupBasedPolicy { words.append("gbp") }
        return words.joined(separator: " ")
    }
}

extension String {
    init(format16 value: UInt8) {
        let digits = String(value, radix: 16)
        self = digits.count == 1 ? "0" + digits : digits
    }
}
