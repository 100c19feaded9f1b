import PacketWire

/// The headers a quoting ICMP error carries: the start of the packet the error is about (RFC 792: its IP
/// header and first 8 data bytes).
public struct QuotedPacket: Hashable, Sendable {
    public var `protocol`: IPProtocol
    public var source: IPAddress
    public var destination: IPAddress
    public var hasPorts: Bool
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// The quoted packet's IP total length (what it was when it was refused).
    public var length: Int
}

/// What a VXLAN-aware device reads inside a VXLAN packet: the VXLAN header and the inner frame's
/// Ethernet, IP and transport headers (RFC 7348 §5).
public struct EncapsulatedFields: Hashable, Sendable {
    public var vni: UInt32
    /// VXLAN flags byte: 0x08 (I) for a valid VNI, 0x88 with group policy.
    public var flags: UInt8
    public var innerSourceMAC: MACAddress
    public var innerDestinationMAC: MACAddress
    public var innerEtherType: EtherType
    /// False when the inner frame is not IP (ARP) or was cut short.
    public var innerIsIP: Bool
    public var innerSource: IPAddress
    public var innerDestination: IPAddress
    public var innerProtocol: IPProtocol
    public var innerHasPorts: Bool
    public var innerSourcePort: UInt16
    public var innerDestinationPort: UInt16
    public var innerICMPType: UInt8?
}

/// The fields of one frame that rules match on, read once per inspection without allocating: outer
/// Ethernet, IPv4 or IPv6 (fragmentation included), and UDP, TCP or ICMP. For UDP to one of the device's
/// VXLAN ports, the VXLAN header and the inner headers too.
///
/// A non-first fragment has no transport header, so its ports are unknown (`hasPorts` is false), exactly
/// as a real firewall sees it.
public struct PacketFields: Sendable {
    /// Bytes of the whole frame.
    public var frameLength = 0
    public var sourceMAC = MACAddress.zero
    public var destinationMAC = MACAddress.zero
    public var etherType = EtherType(rawValue: 0)
    /// Whether an IPv4 or IPv6 header was read.
    public var isIP = false
    public var source = IPAddress.v4(.any)
    public var destination = IPAddress.v4(.any)
    /// IP packet length: IPv4 total length, or 40 + payload length for IPv6 (what `meta length` and
    /// iptables' `-m length` compare).
    public var ipLength = 0
    public var `protocol` = IPProtocol(rawValue: 255)
    public var timeToLive: UInt8 = 0
    public var identification: UInt32 = 0
    public var dontFragment = false
    public var moreFragments = false
    /// Fragment offset in bytes.
    public var fragmentOffset = 0
    /// Whether the transport header is present (false for non-first fragments and truncated packets).
    public var hasTransportHeader = false
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    public var tcpFlags = TCPFlags()
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    /// ICMP bytes 4–7: identifier and sequence of an echo, the next-hop MTU of fragmentation needed.
    public var icmpRest: UInt32 = 0
    /// For ICMP errors: the packet the error is about.
    public var quoted: QuotedPacket?
    public var udpChecksum: UInt16 = 0
    /// Offset of the UDP or TCP header in the frame (for NAT).
    public var transportOffset = 0
    /// Offset of the IP header in the frame (after any VLAN tags).
    public var networkOffset = 0
    /// The VXLAN packet inside, when the device looks there and this is one.
    public var encapsulated: EncapsulatedFields?

    public init() {}

    /// True for any fragment of a larger datagram, first and last included.
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    /// A fragment after the first: it has no transport header.
    public var isNonFirstFragment: Bool { fragmentOffset != 0 }
    public var isICMP: Bool { isIP && (self.protocol == .icmp || self.protocol == .icmpv6) }
    /// Whether this is an ICMP error (destination unreachable, time exceeded, parameter problem,
    /// packet too big), which conntrack relates to the flow it quotes.
    public var isICMPError: Bool {
        guard isICMP, hasTransportHeader else { return false }
        if self.protocol == .icmp { return [3, 4, 5, 11, 12].contains(icmpType) }
        return (1...4).contains(icmpType)
    }
    /// Echo request (ICMP 8, ICMPv6 128) or reply (0, 129).
    public var isEchoRequest: Bool { isICMP && hasTransportHeader && (icmpType == 8 || icmpType == 128) }
    public var isEchoReply: Bool { isICMP && hasTransportHeader && (icmpType == 0 || icmpType == 129) }
    /// The next-hop MTU of an ICMP fragmentation needed (IPv4 type 3 code 4) or packet too big (ICMPv6 2).
    public var reportedMTU: Int? {
        guard isICMP, hasTransportHeader else { return nil }
        if self.protocol == .icmp, icmpType == 3, icmpCode == 4 { return Int(icmpRest & 0xFFFF) }
        if self.protocol == .icmpv6, icmpType == 2 { return Int(icmpRest) }
        return nil
    }

    /// Reads `frame`, an Ethernet frame. Fields that are not there keep their defaults; nothing throws.
    /// - Parameters:
    ///   - frame: the frame's bytes.
    ///   - vxlanPorts: UDP destination ports whose payload is read as VXLAN (empty: never look inside).
    public init(parsing frame: UnsafeRawBufferPointer, vxlanPorts: [UInt16] = []) {
        frameLength = frame.count
        guard let ethernet = try? EthernetFrame(checking: frame) else { return }
        sourceMAC = ethernet.source
        destinationMAC = ethernet.destination
        etherType = ethernet.etherType
        networkOffset = ethernet.payloadOffset
        let transport: UnsafeRawBufferPointer
        switch etherType {
        case .ipv4:
            guard let ip = try? IPv4Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset) else { return }
            isIP = true
            source = .v4(ip.source)
            destination = .v4(ip.destination)
            ipLength = ip.totalLength
            self.protocol = ip.protocol
            timeToLive = ip.timeToLive
            identification = UInt32(ip.identification)
            dontFragment = ip.dontFragment
            moreFragments = ip.moreFragments
            fragmentOffset = ip.fragmentOffset
            transport = ip.payload
            transportOffset = ip.payloadOffset
        case .ipv6:
            guard let ip = try? IPv6Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset),
                  let upper = try? ip.upperLayer() else { return }
            isIP = true
            source = .v6(ip.source)
            destination = .v6(ip.destination)
            ipLength = IPv6Packet.headerLength + ip.payloadLength
            self.protocol = upper.protocol
            timeToLive = ip.hopLimit
            dontFragment = true
            if let fragment = upper.fragment {
                identification = fragment.identification
                moreFragments = fragment.moreFragments
                fragmentOffset = fragment.fragmentOffset
            }
            transport = ip.payload.dropFirst(count: upper.offset)
            transportOffset = ip.payloadOffset + upper.offset
        default:
            return
        }
        guard fragmentOffset == 0 else { return }
        readTransport(transport, vxlanPorts: vxlanPorts)
    }

    private mutating func readTransport(_ bytes: UnsafeRawBufferPointer, vxlanPorts: [UInt16]) {
        // Per packet: views made without checks over lengths checked here, so nothing is thrown or copied.
        switch self.protocol {
        case .udp:
            guard bytes.count >= UDPDatagram.headerLength else { return }
            let udp = UDPDatagram(unchecked: bytes)
            hasTransportHeader = true
            sourcePort = udp.sourcePort
            destinationPort = udp.destinationPort
            udpChecksum = udp.checksum
            if !vxlanPorts.isEmpty, vxlanPorts.contains(destinationPort) {
                encapsulated = Self.readVXLAN(bytes.dropFirst(count: UDPDatagram.headerLength))
            }
        case .tcp:
            // Ports and flags are enough to match on, as for a segment whose options are cut.
            guard bytes.count > TCPSegment.Field.flags else { return }
            let tcp = TCPSegment(unchecked: bytes)
            hasTransportHeader = true
            sourcePort = tcp.sourcePort
            destinationPort = tcp.destinationPort
            tcpFlags = tcp.flags
        case .icmp, .icmpv6:
            // ICMPv6 (RFC 4443 §2.1) has ICMPv4's header layout (RFC 792): type, code, checksum, 4 bytes.
            guard bytes.count >= ICMPv4Message.headerLength else { return }
            let icmp = ICMPv4Message(unchecked: bytes)
            hasTransportHeader = true
            icmpType = icmp.type.rawValue
            icmpCode = icmp.code
            icmpRest = icmp.restOfHeader
            if isICMPError { quoted = Self.readQuoted(icmp.payload, version6: self.protocol == .icmpv6) }
        default:
            return
        }
    }

    /// The start of the packet an ICMP error quotes (its header and at least 8 bytes, RFC 792 and RFC
    /// 4443 §3), read leniently: the ports when their 4 bytes are there.
    static func readQuoted(_ bytes: UnsafeRawBufferPointer, version6: Bool) -> QuotedPacket? {
        /// TCP, UDP and SCTP all open with the two ports.
        let portsLength = UDPDatagram.Field.destinationPort.upperBound
        if !version6 {
            let ip = IPv4Packet(unchecked: bytes)
            guard bytes.count >= IPv4Packet.minimumHeaderLength, ip.version == 4 else { return nil }
            let headerLength = ip.headerLength
            let proto = ip.protocol
            let hasPorts = (proto == .udp || proto == .tcp) && ip.fragmentOffset == 0 && bytes.count >= headerLength + portsLength
            let ports = hasPorts ? UDPDatagram(unchecked: bytes.dropFirst(count: headerLength)) : nil
            return QuotedPacket(protocol: proto, source: .v4(ip.source), destination: .v4(ip.destination), hasPorts: hasPorts,
                                sourcePort: ports?.sourcePort ?? 0, destinationPort: ports?.destinationPort ?? 0,
                                length: ip.totalLength)
        }
        let ip = IPv6Packet(unchecked: bytes)
        guard bytes.count >= IPv6Packet.headerLength, ip.version == 6 else { return nil }
        let proto = ip.nextHeader
        let hasPorts = (proto == .udp || proto == .tcp) && bytes.count >= IPv6Packet.headerLength + portsLength
        let ports = hasPorts ? UDPDatagram(unchecked: bytes.dropFirst(count: IPv6Packet.headerLength)) : nil
        return QuotedPacket(protocol: proto, source: .v6(ip.source), destination: .v6(ip.destination), hasPorts: hasPorts,
                            sourcePort: ports?.sourcePort ?? 0, destinationPort: ports?.destinationPort ?? 0,
                            length: IPv6Packet.headerLength + ip.payloadLength)
    }

    /// The VXLAN header and inner headers, when the bytes hold at least a VXLAN header and an inner
    /// Ethernet header.
    static func readVXLAN(_ bytes: UnsafeRawBufferPointer) -> EncapsulatedFields? {
        guard bytes.count >= VXLANPacket.headerLength + EthernetFrame.minimumHeaderLength else { return nil }
        let vxlan = VXLANPacket(unchecked: bytes)
        let inner = vxlan.payload
        // Read as untagged: a tagged inner frame is walked by `PacketFields(parsing:)` below.
        let ethernet = EthernetFrame(unchecked: inner)
        var fields = EncapsulatedFields(
            vni: vxlan.vni, flags: vxlan.flags,
            innerSourceMAC: ethernet.source, innerDestinationMAC: ethernet.destination,
            innerEtherType: ethernet.etherType, innerIsIP: false,
            innerSource: .v4(.any), innerDestination: .v4(.any), innerProtocol: IPProtocol(rawValue: 255),
            innerHasPorts: false, innerSourcePort: 0, innerDestinationPort: 0, innerICMPType: nil)
        let network = ethernet.payload
        if fields.innerEtherType == .ipv4 {
            // Read leniently: the first fragment of an outer packet holds only the start of the inner one.
            let ip = IPv4Packet(unchecked: network)
            guard network.count >= IPv4Packet.minimumHeaderLength, ip.version == 4 else { return fields }
            let headerLength = ip.headerLength
            fields.innerIsIP = true
            fields.innerSource = .v4(ip.source)
            fields.innerDestination = .v4(ip.destination)
            fields.innerProtocol = ip.protocol
            let portsLength = UDPDatagram.Field.destinationPort.upperBound
            guard ip.fragmentOffset == 0, headerLength >= IPv4Packet.minimumHeaderLength,
                  network.count >= headerLength + portsLength else { return fields }
            let transport = network.dropFirst(count: headerLength)
            if fields.innerProtocol == .udp || fields.innerProtocol == .tcp {
                // TCP opens with the same two ports as UDP.
                let ports = UDPDatagram(unchecked: transport)
                fields.innerHasPorts = true
                fields.innerSourcePort = ports.sourcePort
                fields.innerDestinationPort = ports.destinationPort
            } else if fields.innerProtocol == .icmp {
                fields.innerICMPType = ICMPv4Message(unchecked: transport).type.rawValue
            }
            return fields
        }
        let innerFields = PacketFields(parsing: inner)
        guard innerFields.isIP else { return fields }
        fields.innerIsIP = true
        fields.innerSource = innerFields.source
        fields.innerDestination = innerFields.destination
        fields.innerProtocol = innerFields.protocol
        if innerFields.hasTransportHeader {
            if innerFields.isICMP {
                fields.innerICMPType = innerFields.icmpType
            } else {
                fields.innerHasPorts = true
                fields.innerSourcePort = innerFields.sourcePort
                fields.innerDestinationPort = innerFields.destinationPort
            }
        }
        return fields
    }
}
