import PacketWire

/// A full decode of one frame the way a receiver walks it: Ethernet, then IPv4 / IPv6 / ARP, then UDP /
/// TCP / ICMP, then VXLAN on the VXLAN ports and the inner Ethernet frame, and so on down. A test helper,
/// not product code: it records each layer's one-line summary and the first error, and must never trap.
struct DecodeWalk {
    /// UDP destination ports that carry VXLAN: IANA's 4789 and the Linux default 8472 (Flannel).
    static let vxlanPorts: Set<UInt16> = [4789, 8472]
    /// Frames nested deeper than this are not decoded (VXLAN in VXLAN in VXLAN ...).
    static let maximumDepth = 3

    /// Each decoded layer's `description`, outermost first.
    var layers: [String] = []
    /// The first problem, or nil when every layer decoded.
    var error: DecodeError?
    /// False to decode without verifying checksums, which lets corrupted bytes reach deeper layers.
    var verifyChecksums = true

    /// Decodes `frame` from its Ethernet header down.
    static func decode(_ frame: [UInt8], verifyChecksums: Bool = true) -> DecodeWalk {
        var walk = DecodeWalk(verifyChecksums: verifyChecksums)
        frame.withUnsafeBytes { bytes in
            do throws(DecodeError) {
                try walk.ethernet(bytes, at: 0, depth: 0)
            } catch {
                walk.error = error
            }
        }
        return walk
    }

    private mutating func ethernet(_ bytes: UnsafeRawBufferPointer, at offset: Int, depth: Int) throws(DecodeError) {
        let frame = try EthernetFrame(checking: bytes, frameOffset: offset)
        let header = EthernetHeader(frame)
        layers.append(header.description)
        switch header.etherType {
        case .ipv4: try ipv4(frame.payload, at: frame.payloadOffset, depth: depth)
        case .ipv6: try ipv6(frame.payload, at: frame.payloadOffset, depth: depth)
        case .arp:
            let packet = try ARPPacket(checking: frame.payload, frameOffset: frame.payloadOffset)
            layers.append(try ARPMessage(packet).description)
        default: break
        }
    }

    private mutating func ipv4(_ bytes: UnsafeRawBufferPointer, at offset: Int, depth: Int) throws(DecodeError) {
        let packet = try IPv4Packet(checking: bytes, frameOffset: offset)
        let header = try IPv4Header(packet, verifyingChecksum: verifyChecksums)
        layers.append(header.description)
        // Only a reassembled datagram has a whole upper layer; reassembly is not this walk's job.
        guard !header.isFragment else { return }
        try transport(header.protocol, packet.payload, at: packet.payloadOffset,
                      pseudoHeader: .ipv4(source: header.source, destination: header.destination), depth: depth)
    }

    private mutating func ipv6(_ bytes: UnsafeRawBufferPointer, at offset: Int, depth: Int) throws(DecodeError) {
        let packet = try IPv6Packet(checking: bytes, frameOffset: offset)
        let header = IPv6Header(packet)
        layers.append(header.description)
        let upper = try packet.upperLayer()
        guard upper.fragment == nil else { return }
        try transport(upper.protocol, packet.payload.dropFirst(count: upper.offset),
                      at: packet.payloadOffset + upper.offset,
                      pseudoHeader: .ipv6(source: header.source, destination: header.destination), depth: depth)
    }

    private mutating func transport(
        _ ipProtocol: IPProtocol, _ bytes: UnsafeRawBufferPointer, at offset: Int,
        pseudoHeader: PseudoHeader, depth: Int
    ) throws(DecodeError) {
        let verifying = verifyChecksums ? pseudoHeader : nil
        switch ipProtocol {
        case .udp:
            let datagram = try UDPDatagram(checking: bytes, frameOffset: offset)
            let header = try UDPHeader(datagram, verifyingWith: verifying)
            layers.append(header.description)
            guard Self.vxlanPorts.contains(header.destinationPort), depth < Self.maximumDepth else { return }
            let packet = try VXLANPacket(checking: datagram.payload, frameOffset: datagram.payloadOffset)
            layers.append(try VXLANHeader(packet).description)
            try ethernet(packet.payload, at: packet.payloadOffset, depth: depth + 1)
        case .tcp:
            let segment = try TCPSegment(checking: bytes, frameOffset: offset)
            layers.append(try TCPHeader(segment, verifyingWith: verifying).description)
        case .icmp:
            let message = try ICMPv4Message(checking: bytes, frameOffset: offset)
            layers.append(try ICMPv4Header(message, verifyingChecksum: verifyChecksums).description)
            // The quoted datagram is cut short by design (RFC 792: header + 64 bits), so its IPv4 total
            // length cannot be checked against it; the walk records its size only.
            if let quoted = message.invokingPacket { layers.append("quoting \(quoted.count) bytes") }
        case .icmpv6:
            let message = try ICMPv6Message(checking: bytes, frameOffset: offset)
            layers.append(try ICMPv6Header(message, verifyingWith: pseudoHeader).description)
        default:
            break
        }
    }
}
