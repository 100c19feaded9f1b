import PacketWire

/// A host on the underlay that is not a node (`attackers:`): its own address and MAC, the place it is
/// cabled to (a router, a switch or a node's segment), and what it sends. It runs no CNI and holds no keys:
/// whatever it puts on the wire is crafted by hand, as scapy or `nping` would (TROOPERS19, "VXLAN Security
/// or Injection"; flannel-io/flannel#961).
public struct AttackerSpec: Hashable, Sendable {
    public var name: String
    public var address: IPv4Address
    /// The underlay place the attacker's link goes to.
    public var attach: String
    public var mac: MACAddress
    public var link: LinkSpec
    public var sends: [InjectionSpec]
    public var location: SourceLocation
}

/// One crafted VXLAN stream: outer IPv4 + UDP + VXLAN (RFC 7348 §5) around an inner Ethernet + IPv4 + UDP
/// or TCP SYN, sent `count` times at `rate` toward a node's VTEP.
public struct InjectionSpec: Hashable, Sendable {
    public enum InnerProtocol: String, Hashable, Sendable { case udp, tcp }
    public var name: String
    /// The node whose VTEP receives it (the outer destination is its underlay address).
    public var target: String
    /// The VNI written in the VXLAN header; nil: the cluster's own (Cilium: a pod identity is forged with it).
    public var vni: UInt32?
    /// The outer source address; nil: the attacker's own. A node's address is a spoof.
    public var outerSource: IPv4Address?
    /// The outer UDP destination port; nil: the overlay's.
    public var port: UInt16?
    /// The inner source and destination: a pod's name (its address) or an IPv4 address.
    public var innerSource: String
    public var innerDestination: String
    public var `protocol`: InnerProtocol
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var payload: [UInt8]
    public var count: Int
    /// Packets per second.
    public var rate: Double
    public var start: Nanoseconds
    public var location: SourceLocation
}
