import PacketWire

/// An Ethernet frame carrying IPv4, as the simulation's nodes and pods read it: the fields they route,
/// translate and demultiplex on.
///
/// This is the one place in ClusterSim that knows where those fields sit in the frame: everything else
/// asks it. It reads through PacketWire's accessors at the offsets PacketWire's header views declare
/// (`IPv4Packet.Field`, ...), for frames the simulation built itself, whose lengths were checked where
/// they were built or received.
struct IPv4Frame {
    let bytes: UnsafeRawBufferPointer

    static let ethernetHeaderLength = EthernetFrame.minimumHeaderLength

    /// A frame at least as long as Ethernet + a minimal IPv4 header, with EtherType IPv4; nil otherwise.
    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.ethernetHeaderLength + IPv4Packet.minimumHeaderLength,
              bytes.getInteger(at: 12, as: UInt16.self) == EtherType.ipv4.rawValue else { return nil }
        self.bytes = bytes
    }

    /// Whether the frame is Ethernet + IPv4 at all.
    static func isIPv4(_ bytes: UnsafeRawBufferPointer) -> Bool { IPv4Frame(bytes) != nil }

    /// The EtherType of any Ethernet frame.
    static func etherType(_ bytes: UnsafeRawBufferPointer) -> EtherType {
        EtherType(rawValue: bytes.getInteger(at: 12, as: UInt16.self))
    }

    static func destinationMAC(_ bytes: UnsafeRawBufferPointer) -> MACAddress { mac(bytes, at: 0) }
    static func sourceMAC(_ bytes: UnsafeRawBufferPointer) -> MACAddress { mac(bytes, at: 6) }

    private static func mac(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> MACAddress {
        MACAddress(rawValue: UInt64(bytes.getInteger(at: offset, as: UInt16.self)) << 32
                   | UInt64(bytes.getInteger(at: offset + 2, as: UInt32.self)))
    }

    /// The IP packet: from the IPv4 header to the end of the frame.
    var packet: UnsafeRawBufferPointer { bytes.dropFirst(count: Self.ethernetHeaderLength) }

    private func ip<T: FixedWidthInteger>(_ offset: Int, _ type: T.Type) -> T {
        bytes.getInteger(at: Self.ethernetHeaderLength + offset, as: type)
    }

    var headerLength: Int { Int(ip(IPv4Packet.Field.versionAndHeaderLength, UInt8.self) & 0x0F) * 4 }
    var totalLength: Int { Int(ip(IPv4Packet.Field.totalLength.lowerBound, UInt16.self)) }
    var identification: UInt16 { ip(IPv4Packet.Field.identification.lowerBound, UInt16.self) }
    private var flagsAndOffset: UInt16 { ip(IPv4Packet.Field.flagsAndFragmentOffset.lowerBound, UInt16.self) }
    var dontFragment: Bool { flagsAndOffset & 0x4000 != 0 }
    var moreFragments: Bool { flagsAndOffset & 0x2000 != 0 }
    /// The fragment offset in bytes.
    var fragmentOffset: Int { Int(flagsAndOffset & 0x1FFF) * 8 }
    /// A fragment, first or later (more-fragments set or a non-zero offset).
    var isFragment: Bool { flagsAndOffset & 0x3FFF != 0 }
    var timeToLive: UInt8 { ip(IPv4Packet.Field.timeToLive, UInt8.self) }
    var `protocol`: IPProtocol { IPProtocol(rawValue: ip(IPv4Packet.Field.protocol, UInt8.self)) }
    var source: IPv4Address { IPv4Address(rawValue: ip(IPv4Packet.Field.source.lowerBound, UInt32.self)) }
    var destination: IPv4Address { IPv4Address(rawValue: ip(IPv4Packet.Field.destination.lowerBound, UInt32.self)) }

    /// Where the transport header starts in the frame.
    var transportOffset: Int { Self.ethernetHeaderLength + headerLength }
    /// Whether the first `count` bytes of the transport header are in the frame.
    func hasTransport(_ count: Int) -> Bool { bytes.count >= transportOffset + count }
    private func transport<T: FixedWidthInteger>(_ offset: Int, _ type: T.Type) -> T {
        bytes.getInteger(at: transportOffset + offset, as: type)
    }

    /// TCP or UDP ports (both start their headers with source and destination port).
    var sourcePort: UInt16 { transport(UDPDatagram.Field.sourcePort.lowerBound, UInt16.self) }
    var destinationPort: UInt16 { transport(UDPDatagram.Field.destinationPort.lowerBound, UInt16.self) }

    var icmpType: UInt8 { transport(0, UInt8.self) }
    var icmpCode: UInt8 { transport(1, UInt8.self) }
    /// ICMP echo identifier and sequence number (RFC 792), or the next-hop MTU of a fragmentation
    /// needed (RFC 1191 §4) in the same bytes 6–7.
    var icmpIdentifier: UInt16 { transport(4, UInt16.self) }
    var icmpSequence: UInt16 { transport(6, UInt16.self) }
    var icmpNextHopMTU: Int { Int(transport(6, UInt16.self)) }
    /// The original datagram an ICMP error quotes (RFC 792: its IP header and at least 8 bytes).
    var icmpQuote: UnsafeRawBufferPointer { bytes.dropFirst(count: transportOffset + 8) }
    /// Payload bytes of an ICMP message after its 8-byte header.
    var icmpPayloadLength: Int { bytes.count - transportOffset - 8 }

    var tcpSequence: UInt32 { transport(4, UInt32.self) }
    var tcpAcknowledgment: UInt32 { transport(8, UInt32.self) }
    var tcpHeaderLength: Int { Int(transport(12, UInt8.self) >> 4) * 4 }
    var tcpFlags: TCPFlags { TCPFlags(rawValue: transport(13, UInt8.self)) }
    var tcpPayloadLength: Int { totalLength - headerLength - tcpHeaderLength }

    /// For a frame whose IPv4 packet is a fragment other than the first (outer), or a whole VXLAN packet
    /// on `vxlanPort` whose inner IPv4 packet is one: a later piece of a datagram already counted.
    static func isContinuationFragment(_ bytes: UnsafeRawBufferPointer, vxlanPort: UInt16) -> Bool {
        guard let outer = IPv4Frame(bytes) else { return false }
        if outer.isFragment && outer.fragmentOffset != 0 { return true }
        guard outer.protocol == .udp, outer.hasTransport(UDPDatagram.headerLength),
              outer.destinationPort == vxlanPort else { return false }
        let innerStart = outer.transportOffset + UDPDatagram.headerLength + VXLANPacket.headerLength
        guard bytes.count >= innerStart, let inner = IPv4Frame(bytes.dropFirst(count: innerStart)) else { return false }
        return inner.isFragment && inner.fragmentOffset != 0
    }
}

/// The same frame, writable: what forwarding and translation change in place.
struct MutableIPv4Frame {
    let bytes: UnsafeMutableRawBufferPointer

    init?(_ bytes: UnsafeMutableRawBufferPointer) {
        guard IPv4Frame(UnsafeRawBufferPointer(bytes)) != nil else { return nil }
        self.bytes = bytes
    }

    var frame: IPv4Frame { IPv4Frame(UnsafeRawBufferPointer(bytes))! }

    /// Writes a new Ethernet header (the frame is re-addressed for its next hop).
    static func setEthernet(_ bytes: UnsafeMutableRawBufferPointer, destination: MACAddress, source: MACAddress,
                            etherType: EtherType) {
        EthernetHeader(destination: destination, source: source, etherType: etherType)
            .emit(into: bytes.slice(0..<IPv4Frame.ethernetHeaderLength))
    }

    /// RFC 791 TTL decrement with the RFC 1624 checksum update; the new TTL, or nil when it was already 0.
    func decrementTimeToLive() -> UInt8? {
        IPv4Packet.decrementTimeToLive(in: bytes.slice(IPv4Frame.ethernetHeaderLength..<bytes.count))
    }

    /// Rewrites addresses and ports (NAT) and recomputes the IPv4 and TCP/UDP checksums. A UDP checksum of
    /// 0 ("not computed", RFC 768) stays 0; a computed 0 is sent as 0xFFFF.
    func rewrite(source: IPv4Address? = nil, sourcePort: UInt16? = nil,
                 destination: IPv4Address? = nil, destinationPort: UInt16? = nil) {
        let view = frame
        let ipStart = IPv4Frame.ethernetHeaderLength
        let l4 = view.transportOffset
        if let source { bytes.setInteger(source.rawValue, at: ipStart + IPv4Packet.Field.source.lowerBound, as: UInt32.self) }
        if let destination { bytes.setInteger(destination.rawValue, at: ipStart + IPv4Packet.Field.destination.lowerBound, as: UInt32.self) }
        if let sourcePort { bytes.setInteger(sourcePort, at: l4 + UDPDatagram.Field.sourcePort.lowerBound, as: UInt16.self) }
        if let destinationPort { bytes.setInteger(destinationPort, at: l4 + UDPDatagram.Field.destinationPort.lowerBound, as: UInt16.self) }
        let checksum = ipStart + IPv4Packet.Field.checksum.lowerBound
        bytes.setInteger(0, at: checksum, as: UInt16.self)
        bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(ipStart..<l4))), at: checksum, as: UInt16.self)
        let segment = bytes.slice(l4..<(ipStart + view.totalLength))
        let pseudo = PseudoHeader.ipv4(source: view.source, destination: view.destination)
        let proto = view.protocol
        let checksumOffset = proto == .tcp ? TCPSegment.Field.checksum.lowerBound : UDPDatagram.Field.checksum.lowerBound
        guard segment.count >= checksumOffset + 2 else { return }
        if proto == .udp && segment.getInteger(at: checksumOffset, as: UInt16.self) == 0 { return }
        segment.setInteger(0, at: checksumOffset, as: UInt16.self)
        let sum = pseudo.checksum(of: UnsafeRawBufferPointer(segment), protocol: proto)
        segment.setInteger(proto == .udp && sum == 0 ? 0xFFFF : sum, at: checksumOffset, as: UInt16.self)
    }

    /// Rewrites the IPv4 header's length and flags-and-offset fields of a fragment and recomputes its checksum.
    func setFragment(totalLength: Int, moreFragments: Bool, offsetUnits: Int) {
        let ipStart = IPv4Frame.ethernetHeaderLength
        bytes.setInteger(UInt16(totalLength), at: ipStart + IPv4Packet.Field.totalLength.lowerBound, as: UInt16.self)
        bytes.setInteger((moreFragments ? 0x2000 : 0) | UInt16(offsetUnits), at: ipStart + IPv4Packet.Field.flagsAndFragmentOffset.lowerBound, as: UInt16.self)
        let checksum = ipStart + IPv4Packet.Field.checksum.lowerBound
        bytes.setInteger(0, at: checksum, as: UInt16.self)
        let headerLength = frame.headerLength
        bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(ipStart..<(ipStart + headerLength)))), at: checksum, as: UInt16.self)
    }
}

extension IPv6Packet {
    /// Decrements the hop limit of the IPv6 packet at the start of `bytes` (RFC 8200 §3: a router drops a
    /// packet whose hop limit reaches zero); false when it would (IPv6 has no header checksum to update).
    static func decrementHopLimit(in bytes: UnsafeMutableRawBufferPointer) -> Bool {
        let offset = Field.hopLimit
        guard bytes.count > offset else { return false }
        let hopLimit = bytes.getInteger(at: offset, as: UInt8.self)
        guard hopLimit > 1 else { return false }
        bytes.setInteger(hopLimit - 1, at: offset, as: UInt8.self)
        return true
    }
}

/// The IPv4 header (and the start of the transport header) an ICMP error quotes (RFC 792: the header and
/// at least 8 bytes of data). Reads only what the quote holds.
struct QuotedIPv4Packet {
    let bytes: UnsafeRawBufferPointer

    var headerLength: Int { Int(bytes.getInteger(at: IPv4Packet.Field.versionAndHeaderLength, as: UInt8.self) & 0x0F) * 4 }
    var `protocol`: IPProtocol { IPProtocol(rawValue: bytes.getInteger(at: IPv4Packet.Field.protocol, as: UInt8.self)) }
    var source: IPv4Address { IPv4Address(rawValue: bytes.getInteger(at: IPv4Packet.Field.source.lowerBound, as: UInt32.self)) }
    var destination: IPv4Address { IPv4Address(rawValue: bytes.getInteger(at: IPv4Packet.Field.destination.lowerBound, as: UInt32.self)) }
    /// The quoted TCP or UDP source port, when the quote holds it.
    var sourcePort: UInt16 { bytes.getInteger(at: headerLength + UDPDatagram.Field.sourcePort.lowerBound, as: UInt16.self) }
}

extension IPv4Frame {
    /// The packet an ICMP error quotes, when the quote holds its IPv4 header and the transport ports.
    static func quoted(_ quote: UnsafeRawBufferPointer) -> QuotedIPv4Packet? {
        guard quote.count >= IPv4Packet.minimumHeaderLength else { return nil }
        let packet = QuotedIPv4Packet(bytes: quote)
        guard packet.headerLength >= IPv4Packet.minimumHeaderLength, quote.count >= packet.headerLength + 4 else { return nil }
        return packet
    }
}
