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
            ipLength = 40 + ip.payloadLength
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
        switch self.protocol {
        case .udp, .tcp:
            let needed = self.protocol == .udp ? 8 : 14
            guard bytes.count >= needed else { return }
            hasTransportHeader = true
            sourcePort = bytes.getInteger(at: 0, as: UInt16.self)
            destinationPort = bytes.getInteger(at: 2, as: UInt16.self)
            if self.protocol == .tcp {
                tcpFlags = TCPFlags(rawValue: bytes.getInteger(at: 13, as: UInt8.self))
            } else {
                udpChecksum = bytes.getInteger(at: 6, as: UInt16.self)
                if !vxlanPorts.isEmpty, vxlanPorts.contains(destinationPort) {
                    encapsulated = Self.readVXLAN(bytes.dropFirst(count: 8))
                }
            }
        case .icmp, .icmpv6:
            guard bytes.count >= 8 else { return }
            hasTransportHeader = true
            icmpType = bytes.getInteger(at: 0, as: UInt8.self)
            icmpCode = bytes.getInteger(at: 1, as: UInt8.self)
            icmpRest = bytes.getInteger(at: 4, as: UInt32.self)
            if isICMPError { quoted = Self.readQuoted(bytes.dropFirst(count: 8), version6: self.protocol == .icmpv6) }
        default:
            return
        }
    }

    /// The start of the packet an ICMP error quotes.
    static func readQuoted(_ bytes: UnsafeRawBufferPointer, version6: Bool) -> QuotedPacket? {
        if !version6 {
            guard bytes.count >= 20, bytes.getInteger(at: 0, as: UInt8.self) >> 4 == 4 else { return nil }
            let headerLength = Int(bytes.getInteger(at: 0, as: UInt8.self) & 0x0F) * 4
            let proto = IPProtocol(rawValue: bytes.getInteger(at: 9, as: UInt8.self))
            let firstFragment = bytes.getInteger(at: 6, as: UInt16.self) & 0x1FFF == 0
            let hasPorts = (proto == .udp || proto == .tcp) && firstFragment && bytes.count >= headerLength + 4
            return QuotedPacket(protocol: proto, source: .v4(IPv4Address(rawValue: bytes.getInteger(at: 12, as: UInt32.self))),
                                destination: .v4(IPv4Address(rawValue: bytes.getInteger(at: 16, as: UInt32.self))), hasPorts: hasPorts,
                                sourcePort: hasPorts ? bytes.getInteger(at: headerLength, as: UInt16.self) : 0,
                                destinationPort: hasPorts ? bytes.getInteger(at: headerLength + 2, as: UInt16.self) : 0,
                                length: Int(bytes.getInteger(at: 2, as: UInt16.self)))
        }
        guard bytes.count >= 40, bytes.getInteger(at: 0, as: UInt8.self) >> 4 == 6 else { return nil }
        let proto = IPProtocol(rawValue: bytes.getInteger(at: 6, as: UInt8.self))
        let hasPorts = (proto == .udp || proto == .tcp) && bytes.count >= 44
        let source = IPv6Address(high: UInt64(bytes.getInteger(at: 8, as: UInt32.self)) << 32 | UInt64(bytes.getInteger(at: 12, as: UInt32.self)),
                                 low: UInt64(bytes.getInteger(at: 16, as: UInt32.self)) << 32 | UInt64(bytes.getInteger(at: 20, as: UInt32.self)))
        let destination = IPv6Address(high: UInt64(bytes.getInteger(at: 24, as: UInt32.self)) << 32 | UInt64(bytes.getInteger(at: 28, as: UInt32.self)),
                                      low: UInt64(bytes.getInteger(at: 32, as: UInt32.self)) << 32 | UInt64(bytes.getInteger(at: 36, as: UInt32.self)))
        return QuotedPacket(protocol: proto, source: .v6(source), destination: .v6(destination), hasPorts: hasPorts,
                            sourcePort: hasPorts ? bytes.getInteger(at: 40, as: UInt16.self) : 0,
                            destinationPort: hasPorts ? bytes.getInteger(at: 42, as: UInt16.self) : 0,
                            length: 40 + Int(bytes.getInteger(at: 4, as: UInt16.self)))
    }

    /// The VXLAN header and inner headers, when the bytes hold at least a VXLAN header and an inner
    /// Ethernet header.
    static func readVXLAN(_ bytes: UnsafeRawBufferPointer) -> EncapsulatedFields? {
        guard bytes.count >= 8 + 14 else { return nil }
        let inner = bytes.dropFirst(count: 8)
        var fields = EncapsulatedFields(
            vni: bytes.getInteger(at: 4, as: UInt32.self) >> 8, flags: bytes.getInteger(at: 0, as: UInt8.self),
            innerSourceMAC: MACAddress(rawValue: UInt64(inner.getInteger(at: 6, as: UInt16.self)) << 32 | UInt64(inner.getInteger(at: 8, as: UInt32.self))),
            innerDestinationMAC: MACAddress(rawValue: UInt64(inner.getInteger(at: 0, as: UInt16.self)) << 32 | UInt64(inner.getInteger(at: 2, as: UInt32.self))),
            innerEtherType: EtherType(rawValue: inner.getInteger(at: 12, as: UInt16.self)), innerIsIP: false,
            innerSource: .v4(.any), innerDestination: .v4(.any), innerProtocol: IPProtocol(rawValue: 255),
            innerHasPorts: false, innerSourcePort: 0, innerDestinationPort: 0, innerICMPType: nil)
        let ip = inner.dropFirst(count: 14)
        if fields.innerEtherType == .ipv4 {
            // Read leniently: the first fragment of an outer packet holds only the start of the inner one.
            guard ip.count >= 20, ip.getInteger(at: 0, as: UInt8.self) >> 4 == 4 else { return fields }
            let headerLength = Int(ip.getInteger(at: 0, as: UInt8.self) & 0x0F) * 4
            fields.innerIsIP = true
            fields.innerSource = .v4(IPv4Address(rawValue: ip.getInteger(at: 12, as: UInt32.self)))
            fields.innerDestination = .v4(IPv4Address(rawValue: ip.getInteger(at: 16, as: UInt32.self)))
            fields.innerProtocol = IPProtocol(rawValue: ip.getInteger(at: 9, as: UInt8.self))
            guard ip.getInteger(at: 6, as: UInt16.self) & 0x1FFF == 0, headerLength >= 20, ip.count >= headerLength + 4 else { return fields }
            if fields.innerProtocol == .udp || fields.innerProtocol == .tcp {
                fields.innerHasPorts = true
                fields.innerSourcePort = ip.getInteger(at: headerLength, as: UInt16.self)
                fields.innerDestinationPort = ip.getInteger(at: headerLength + 2, as: UInt16.self)
            } else if fields.innerProtocol == .icmp {
                fields.innerICMPType = ip.getInteger(at: headerLength, as: UInt8.self)
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
