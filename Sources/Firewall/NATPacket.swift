import PacketWire

/// The headers NAT reads and rewrites in one Ethernet frame carrying IPv4: addresses, protocol, and the
/// TCP or UDP ports (the ICMP echo identifier stands in for a port, as conntrack keys it). Parsed once;
/// the rewrites patch the IPv4 header checksum and the TCP or UDP checksum by RFC 1624, as Linux's
/// `nf_nat_ipv4_manip_pkt` and `l4proto_manip_pkt` (net/netfilter/nf_nat_proto.c) do, so a checksum that
/// was right stays right and gives the bytes a full recomputation gives.
///
/// NAT44 only: frames that are not IPv4 are not parsed.
public struct NATPacket {
    /// The frame, rewritten in place.
    public let frame: UnsafeMutableRawBufferPointer
    /// Where the IPv4 header and the transport header start in the frame.
    let networkOffset: Int
    let transportOffset: Int
    public let `protocol`: IPProtocol
    public let source: IPv4Address
    public let destination: IPv4Address
    /// The TCP or UDP header with its ports, or the ICMP header, is there: not a fragment after the
    /// first, and not cut short.
    public let hasTransportHeader: Bool
    public let sourcePort: UInt16
    public let destinationPort: UInt16
    /// A fragment after the first: no transport header, so no tuple.
    public let isNonFirstFragment: Bool
    let icmpType: UInt8
    /// The ICMP echo identifier (bytes 4-5 of the ICMP header).
    let echoIdentifier: UInt16
    let tcpFlags: TCPFlags

    /// Reads the headers of `frame`; nil when it is not Ethernet carrying a well-formed IPv4 header.
    public init?(_ frame: UnsafeMutableRawBufferPointer) {
        let bytes = UnsafeRawBufferPointer(frame)
        guard let ethernet = try? EthernetFrame(checking: bytes), ethernet.etherType == .ipv4,
              let ip = try? IPv4Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset) else { return nil }
        self.frame = frame
        networkOffset = ethernet.payloadOffset
        transportOffset = ip.payloadOffset
        self.protocol = ip.protocol
        source = ip.source
        destination = ip.destination
        let transport = ip.payload
        // As PacketFields reads them: UDP's 8 bytes, TCP up to its flags, ICMP's 8.
        let needed: Int
        switch ip.protocol {
        case .udp: needed = UDPDatagram.headerLength
        case .tcp: needed = TCPSegment.Field.flags + 1
        case .icmp: needed = ICMPv4Message.headerLength
        default: needed = Int.max
        }
        isNonFirstFragment = ip.fragmentOffset != 0
        hasTransportHeader = !isNonFirstFragment && transport.count >= needed
        let ports = hasTransportHeader && (ip.protocol == .udp || ip.protocol == .tcp)
        sourcePort = ports ? transport.getInteger(at: UDPDatagram.Field.sourcePort.lowerBound, as: UInt16.self) : 0
        destinationPort = ports ? transport.getInteger(at: UDPDatagram.Field.destinationPort.lowerBound, as: UInt16.self) : 0
        let icmp = hasTransportHeader && ip.protocol == .icmp
        icmpType = icmp ? transport.getInteger(at: ICMPv4Message.Field.type, as: UInt8.self) : 0
        echoIdentifier = icmp ? transport.getInteger(at: ICMPv4Message.Field.identifier.lowerBound, as: UInt16.self) : 0
        tcpFlags = hasTransportHeader && ip.protocol == .tcp
            ? TCPFlags(rawValue: transport.getInteger(at: TCPSegment.Field.flags, as: UInt8.self)) : TCPFlags()
    }

    /// The same view over a frame a device already read into `fields` (IPv4 only).
    init?(_ frame: UnsafeMutableRawBufferPointer, fields: PacketFields) {
        guard fields.isIP, case .v4(let source) = fields.source, case .v4(let destination) = fields.destination else { return nil }
        self.frame = frame
        networkOffset = fields.networkOffset
        transportOffset = fields.transportOffset
        self.protocol = fields.protocol
        self.source = source
        self.destination = destination
        isNonFirstFragment = fields.isNonFirstFragment
        hasTransportHeader = fields.hasTransportHeader
        sourcePort = fields.sourcePort
        destinationPort = fields.destinationPort
        icmpType = fields.icmpType
        tcpFlags = fields.tcpFlags
        echoIdentifier = UInt16(truncatingIfNeeded: fields.icmpRest >> 16)
    }

    /// The conntrack tuple, as ``FlowKey/init(_:)`` makes it from the same packet: nil for a fragment after
    /// the first and for TCP or UDP without its header. An echo request keys on (identifier, 0), a reply
    /// on (0, identifier).
    public var key: FlowKey? {
        guard !isNonFirstFragment else { return nil }
        var sourcePort: UInt16 = 0, destinationPort: UInt16 = 0
        if self.protocol == .udp || self.protocol == .tcp {
            guard hasTransportHeader else { return nil }
            sourcePort = self.sourcePort
            destinationPort = self.destinationPort
        } else if self.protocol == .icmp, hasTransportHeader, icmpType == 8 {
            sourcePort = echoIdentifier
        } else if self.protocol == .icmp, hasTransportHeader, icmpType == 0 {
            destinationPort = echoIdentifier
        }
        return FlowKey(protocol: self.protocol, source: .v4(source), sourcePort: sourcePort,
                       destination: .v4(destination), destinationPort: destinationPort)
    }

    /// The UDP checksum is 0: the sender computed none (RFC 768).
    var udpChecksumIsZero: Bool {
        self.protocol == .udp && hasTransportHeader
            && UnsafeRawBufferPointer(frame).getInteger(at: transportOffset + UDPDatagram.Field.checksum.lowerBound, as: UInt16.self) == 0
    }

    /// Which end of the packet a rewrite changes.
    public enum End: Sendable {
        case source, destination
    }

    /// Writes `address` (and `port`, for TCP and UDP) as the packet's source or destination, patching the
    /// IPv4 header checksum and the transport checksum by RFC 1624 (PacketWire's
    /// ``MutableIPv4Packet/rewriteSource(_:port:)``, Linux's `nf_nat_ipv4_manip_pkt`). A UDP checksum of 0
    /// stays 0, and one that comes out as 0 is written as 0xFFFF (RFC 768; Linux's `CSUM_MANGLED_0`).
    /// - Parameters:
    ///   - end: the source or the destination.
    ///   - address: the new address.
    ///   - port: the new TCP or UDP port; nil leaves the port alone (and is all ICMP and other protocols get).
    ///   - portInChecksum: false leaves the port change out of the transport checksum, modelling the 2020
    ///     checksum-offload bug (kubernetes#88986), which updated the pseudo-header only.
    public func rewrite(_ end: End, address: IPv4Address, port: UInt16?, portInChecksum: Bool = true) {
        guard let ip = try? MutableIPv4Packet(checking: frame.dropFirst(count: networkOffset), frameOffset: networkOffset) else { return }
        let ports = hasTransportHeader && (self.protocol == .udp || self.protocol == .tcp)
        let port = ports ? port : nil
        guard let port, !portInChecksum else {
            if end == .source { ip.rewriteSource(address, port: port) } else { ip.rewriteDestination(address, port: port) }
            return
        }
        // The offload bug: the address (in the pseudo-header) is patched into the checksum, the port is
        // written without it.
        if end == .source { ip.rewriteSource(address) } else { ip.rewriteDestination(address) }
        if self.protocol == .udp, let udp = try? MutableUDPDatagram(checking: ip.payload, frameOffset: ip.payloadOffset) {
            if end == .source { udp.sourcePort = port } else { udp.destinationPort = port }
        } else if self.protocol == .tcp, let tcp = try? MutableTCPSegment(checking: ip.payload, frameOffset: ip.payloadOffset) {
            if end == .source { tcp.sourcePort = port } else { tcp.destinationPort = port }
        }
    }

    /// Rewrites one end to `target` when it differs from what the packet carries.
    /// - Returns: whether anything changed.
    @discardableResult
    func rewrite(_ end: End, to target: NATTarget) -> Bool {
        guard case .v4(let address) = target.address else { return false }
        let ports = hasTransportHeader && (self.protocol == .udp || self.protocol == .tcp)
        let (oldAddress, oldPort) = end == .source ? (source, sourcePort) : (destination, destinationPort)
        let portChanges = ports && oldPort != target.port
        guard address != oldAddress || portChanges else { return false }
        rewrite(end, address: address, port: portChanges ? target.port : nil)
        return true
    }
}
