import PacketWire

/// What the simulation knows about a packet beyond its bytes, as Linux keeps state in `skb->cb`: which
/// sender's flow it belongs to and when it was sent, for the observers that account and explain. It never
/// appears on the wire, and nothing that forwards or delivers a packet reads it: pods find their sockets by
/// address and port, nodes route by address. One field is Linux's `skb->hash` rather than `skb->cb`:
/// ``socketHash``, which the overlay turns into the outer source port.
struct PacketTag {
    /// Which way the packet goes relative to the flow that caused it.
    enum Role: UInt8 {
        /// From the flow's sender toward its destination (datagrams, echo requests, TCP client segments).
        case toServer
        /// Back toward the sender (echo replies, TCP server segments, ICMP errors about its packets).
        case toClient
        /// Underlay control traffic.
        case control
    }

    var sender: SenderID?
    var role: Role
    var sentAt: Nanoseconds
    /// This packet carries the flow's payload forward (counted as sent and delivered).
    var isData: Bool
    /// Bytes of the inner frame inside this outer packet (its first fragment carries them all), for the
    /// links' encapsulation overhead.
    var innerLength = 0
    /// The NAT that left this packet's UDP checksum wrong (the 2020 checksum-offload bug), for the
    /// sentence of the drop it causes at the far VTEP.
    var brokenChecksumBy: FirewallID?
    /// The link this outer packet was fragmented for, and its length before: why it is in pieces, for a
    /// fragment filter's sentence.
    var fragmentedOnLink: LinkID?
    var unfragmentedLength: UInt16 = 0
    /// The sending socket's flow hash (`sk_txhash`, put on the packet by `skb_set_hash_from_sk`), 0 when
    /// the packet has none (an unconnected socket, the kernel's own replies). The vxlan driver takes the
    /// outer UDP source port from it (`udp_flow_src_port` → `skb_get_hash`, which uses a socket's hash
    /// before dissecting the flow); it survives the veth and forwarding, and a retransmission timeout
    /// changes it (`sk_rethink_txhash`).
    var socketHash: UInt32 = 0
    /// The sender's security identity a Cilium node read from the VNI of the packet it decapsulated
    /// (bpf/bpf_overlay.c takes it from the tunnel key); 0 when the packet came through no Cilium tunnel.
    var tunnelIdentity: UInt32 = 0
    /// The attacker's crafted stream this packet belongs to (nil: not an attacker's), for the report's
    /// attack lines. Like every field here it never decides the packet's fate.
    var attack: AttackID?

    static let none = PacketTag(sender: nil, role: .control, sentAt: 0, isData: false)

    /// The tag of a packet answering this one (an ICMP error, a reply): the same flow, the other way.
    var reversed: PacketTag {
        var tag = self
        tag.role = role == .toServer ? .toClient : .toServer
        tag.isData = false
        tag.socketHash = 0
        tag.tunnelIdentity = 0
        return tag
    }
}
