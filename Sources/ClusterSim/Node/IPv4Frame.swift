import PacketWire

/// An Ethernet frame carrying IPv4, as the simulation's nodes and pods read it: the fields they route,
/// translate and demultiplex on, read through PacketWire's views (the only place that knows where a field
/// sits). Built only over frames whose IPv4 header checks out.
struct IPv4Frame {
    let bytes: UnsafeRawBufferPointer
    let ethernet: EthernetFrame
    let ip: IPv4Packet

    static let ethernetHeaderLength = EthernetFrame.minimumHeaderLength

    /// An untagged Ethernet frame carrying a well-formed IPv4 header; nil otherwise.
    init?(_ bytes: UnsafeRawBufferPointer) {
        guard let ethernet = try? EthernetFrame(checking: bytes), ethernet.etherType == .ipv4,
              let ip = try? IPv4Packet(checking: ethernet.payload, frameOffset: ethernet.headerLength) else { return nil }
        self.bytes = bytes
        self.ethernet = ethernet
        self.ip = ip
    }

    static func isIPv4(_ bytes: UnsafeRawBufferPointer) -> Bool { IPv4Frame(bytes) != nil }

    /// The EtherType of any Ethernet frame (`.unknown` when there is not even a header).
    static func etherType(_ bytes: UnsafeRawBufferPointer) -> EtherType {
        (try? EthernetFrame(checking: bytes))?.etherType ?? EtherType(rawValue: 0)
    }

    static func destinationMAC(_ bytes: UnsafeRawBufferPointer) -> MACAddress {
        (try? EthernetFrame(checking: bytes))?.destination ?? .broadcast
    }

    static func sourceMAC(_ bytes: UnsafeRawBufferPointer) -> MACAddress {
        (try? EthernetFrame(checking: bytes))?.source ?? .broadcast
    }

    /// The IP packet: from the IPv4 header to the end of the frame.
    var packet: UnsafeRawBufferPointer { ethernet.payload }

    var headerLength: Int { ip.headerLength }
    var totalLength: Int { ip.totalLength }
    var identification: UInt16 { ip.identification }
    var dontFragment: Bool { ip.dontFragment }
    var moreFragments: Bool { ip.moreFragments }
    /// The fragment offset in bytes.
    var fragmentOffset: Int { ip.fragmentOffset }
    /// A fragment, first or later (more-fragments set or a non-zero offset).
    var isFragment: Bool { ip.isFragment }
    var timeToLive: UInt8 { ip.timeToLive }
    var `protocol`: IPProtocol { ip.protocol }
    var source: IPv4Address { ip.source }
    var destination: IPv4Address { ip.destination }

    /// The IP payload: the transport header and data (or a later fragment's data).
    var transport: UnsafeRawBufferPointer { ip.payload }
    /// Whether the first `count` bytes of the transport header are in the packet.
    func hasTransport(_ count: Int) -> Bool { transport.count >= count }

    /// TCP or UDP ports: both headers begin with the source and the destination port (RFC 768, RFC 9293),
    /// so they are read at UDP's field offsets without checking UDP's length field, which a TCP segment's
    /// sequence number would otherwise be taken for (an RST with sequence 0 read as ports 0).
    var sourcePort: UInt16 {
        transport.count >= UDPDatagram.Field.sourcePort.upperBound
            ? transport.getInteger(at: UDPDatagram.Field.sourcePort.lowerBound, as: UInt16.self) : 0
    }
    var destinationPort: UInt16 {
        transport.count >= UDPDatagram.Field.destinationPort.upperBound
            ? transport.getInteger(at: UDPDatagram.Field.destinationPort.lowerBound, as: UInt16.self) : 0
    }

    private var icmp: ICMPv4Message? { try? ICMPv4Message(checking: transport) }
    var icmpType: UInt8 { icmp?.type.rawValue ?? 0 }
    var icmpCode: UInt8 { icmp?.code ?? 0 }
    /// ICMP echo identifier and sequence number (RFC 792).
    var icmpIdentifier: UInt16 { icmp?.identifier ?? 0 }
    var icmpSequence: UInt16 { icmp?.sequenceNumber ?? 0 }
    /// The next-hop MTU of a fragmentation needed (RFC 1191 §4).
    var icmpNextHopMTU: Int { Int(icmp?.nextHopMTU ?? 0) }
    /// What follows the ICMP header: the quoted datagram of an error (RFC 792), an echo's data.
    var icmpQuote: UnsafeRawBufferPointer { icmp?.payload ?? transport.slice(0..<0) }
    var icmpPayloadLength: Int { icmp?.payload.count ?? 0 }

    private var tcp: TCPSegment? { try? TCPSegment(checking: transport) }
    var tcpSequence: UInt32 { tcp?.sequenceNumber ?? 0 }
    var tcpAcknowledgment: UInt32 { tcp?.acknowledgmentNumber ?? 0 }
    var tcpHeaderLength: Int { tcp?.headerLength ?? TCPSegment.minimumHeaderLength }
    var tcpFlags: TCPFlags { tcp?.flags ?? [] }
    var tcpPayloadLength: Int { tcp?.payload.count ?? 0 }

    /// For a frame whose IPv4 packet is a fragment other than the first (outer), or a whole VXLAN packet
    /// on `vxlanPort` whose inner IPv4 packet is one: a later piece of a datagram already counted.
    static func isContinuationFragment(_ bytes: UnsafeRawBufferPointer, vxlanPort: UInt16) -> Bool {
        guard let outer = IPv4Frame(bytes) else { return false }
        if outer.isFragment && outer.fragmentOffset != 0 { return true }
        guard outer.protocol == .udp, let udp = try? UDPDatagram(checking: outer.transport),
              udp.destinationPort == vxlanPort, let vxlan = try? VXLANPacket(checking: udp.payload),
              let inner = IPv4Frame(vxlan.payload) else { return false }
        return inner.isFragment && inner.fragmentOffset != 0
    }
}

/// The same frame, writable: what forwarding and translation change in place.
struct MutableIPv4Frame {
    let bytes: UnsafeMutableRawBufferPointer
    let ip: MutableIPv4Packet

    init?(_ bytes: UnsafeMutableRawBufferPointer) {
        guard let frame = IPv4Frame(UnsafeRawBufferPointer(bytes)),
              let ip = try? MutableIPv4Packet(checking: bytes.slice(frame.ethernet.headerLength..<bytes.count),
                                              frameOffset: frame.ethernet.headerLength) else { return nil }
        self.bytes = bytes
        self.ip = ip
    }

    var frame: IPv4Frame { IPv4Frame(UnsafeRawBufferPointer(bytes))! }

    /// Writes the Ethernet addresses and type (the frame is re-addressed for its next hop).
    static func setEthernet(_ bytes: UnsafeMutableRawBufferPointer, destination: MACAddress, source: MACAddress,
                            etherType: EtherType) {
        var ethernet = MutableEthernetFrame(formatting: bytes)
        ethernet.destination = destination
        ethernet.source = source
        ethernet.etherType = etherType
    }

    /// RFC 791 TTL decrement with the RFC 1624 checksum update; the new TTL, or nil when it was already 0.
    func decrementTimeToLive() -> UInt8? { ip.decrementTimeToLive() }

    /// NAT: rewrites addresses and ports with RFC 1624 checksum updates (Linux `nf_nat_ipv4_manip_pkt`).
    func rewrite(source: IPv4Address? = nil, sourcePort: UInt16? = nil,
                 destination: IPv4Address? = nil, destinationPort: UInt16? = nil) {
        if let source { ip.rewriteSource(source, port: sourcePort) }
        if let destination { ip.rewriteDestination(destination, port: destinationPort) }
    }
}

extension IPv6Packet {
    /// Decrements the hop limit of the IPv6 packet at the start of `bytes` (RFC 8200 §3: a router drops a
    /// packet whose hop limit reaches zero); false when it would.
    static func decrementHopLimit(in bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard var packet = try? MutableIPv6Packet(checking: bytes), packet.hopLimit > 1 else { return false }
        packet.hopLimit -= 1
        return true
    }
}

/// The IPv4 header (and the start of the transport header) an ICMP error quotes (RFC 792: the header and
/// at least 8 bytes of data), read as far as the quote goes.
struct QuotedIPv4Packet {
    let ip: PartialIPv4Packet

    var `protocol`: IPProtocol { ip.protocol ?? IPProtocol(rawValue: 255) }
    var source: IPv4Address { ip.source ?? .any }
    var destination: IPv4Address { ip.destination ?? .any }
    /// The quoted TCP or UDP source port.
    var sourcePort: UInt16 { (try? PartialUDPDatagram(ip.payload))?.sourcePort ?? 0 }
}

extension IPv4Frame {
    /// The packet an ICMP error quotes, when the quote holds its IPv4 header and the transport ports.
    static func quoted(_ quote: UnsafeRawBufferPointer) -> QuotedIPv4Packet? {
        guard let ip = try? PartialIPv4Packet(quote), ip.source != nil, ip.destination != nil,
              let udp = try? PartialUDPDatagram(ip.payload), udp.sourcePort != nil else { return nil }
        return QuotedIPv4Packet(ip: ip)
    }
}
