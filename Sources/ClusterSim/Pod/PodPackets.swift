import PacketWire

/// Builds the frames a host's stack sends (a pod's, a node's, a router's), into pooled packet buffers with
/// lengths and checksums filled: Ethernet to the next hop, IPv4, then ICMP, UDP or TCP. Headers are
/// emitted innermost first by PacketWire's values, at positions the header lengths give.
enum PodPackets {
    static let ethernetHeader = EthernetFrame.minimumHeaderLength
    static let ipHeader = IPv4Packet.minimumHeaderLength
    /// Where the transport header starts in an untagged frame with an option-less IPv4 header.
    static let transportStart = ethernetHeader + ipHeader

    struct Addressing {
        var sourceMAC: MACAddress
        var destinationMAC: MACAddress
        var source: IPv4Address
        var destination: IPv4Address
        var timeToLive: UInt8 = 64
        var typeOfService: UInt8 = 0
        var dontFragment: Bool
        var identification: UInt16
    }

    /// Writes Ethernet + IPv4 in front of an upper-layer packet of `upperLength` bytes already written at
    /// ``transportStart``.
    static func finish(_ buffer: PacketBuffer, _ addressing: Addressing, protocol: IPProtocol, upperLength: Int) {
        let bytes = buffer.mutableBytes
        IPv4Header(typeOfService: addressing.typeOfService, identification: addressing.identification,
                   dontFragment: addressing.dontFragment, timeToLive: addressing.timeToLive, protocol: `protocol`,
                   source: addressing.source, destination: addressing.destination, payloadLength: upperLength)
            .emit(into: bytes.slice(ethernetHeader..<transportStart))
        EthernetHeader(destination: addressing.destinationMAC, source: addressing.sourceMAC, etherType: .ipv4)
            .emit(into: bytes.slice(0..<ethernetHeader))
    }

    /// Fills `count` payload bytes with a recognisable pattern (like ping's).
    static func fillPayload(_ bytes: UnsafeMutableRawBufferPointer, from offset: Int, count: Int, seed: UInt32) {
        for index in 0..<count { bytes[offset + index] = UInt8(truncatingIfNeeded: UInt32(index) &+ seed) }
    }

    static func udp(_ buffer: PacketBuffer, _ addressing: Addressing, sourcePort: UInt16, destinationPort: UInt16,
                    payload: Int, seed: UInt32) {
        let upper = UDPDatagram.headerLength + payload
        guard let bytes = buffer.append(transportStart + upper) else { return }
        fillPayload(bytes, from: transportStart + UDPDatagram.headerLength, count: payload, seed: seed)
        UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload)
            .emit(into: bytes.slice(transportStart..<(transportStart + upper)),
                  checksum: .ipv4(source: addressing.source, destination: addressing.destination))
        finish(buffer, addressing, protocol: .udp, upperLength: upper)
    }

    /// ICMP echo request (type 8) or reply (type 0), RFC 792.
    static func echo(_ buffer: PacketBuffer, _ addressing: Addressing, reply: Bool, identifier: UInt16,
                     sequence: UInt16, payload: Int) {
        let kind: ICMPv4Header.Kind = reply ? .echoReply(identifier: identifier, sequenceNumber: sequence)
            : .echoRequest(identifier: identifier, sequenceNumber: sequence)
        let header = ICMPv4Header(kind, payloadLength: payload)
        guard let bytes = buffer.append(transportStart + header.length) else { return }
        fillPayload(bytes, from: transportStart + ICMPv4Message.headerLength, count: payload, seed: UInt32(sequence))
        header.emit(into: bytes.slice(transportStart..<(transportStart + header.length)))
        finish(buffer, addressing, protocol: .icmp, upperLength: header.length)
    }

    /// An ICMP error of `kind` quoting the first `length` bytes of `datagram`.
    static func error(_ buffer: PacketBuffer, _ addressing: Addressing, _ kind: ICMPv4Header.Kind,
                      quoting datagram: UnsafeRawBufferPointer, length: Int) {
        let quoted = min(length, datagram.count)
        let header = ICMPv4Header(kind, payloadLength: quoted)
        guard let bytes = buffer.append(transportStart + header.length) else { return }
        let quoteStart = transportStart + ICMPv4Message.headerLength
        bytes.slice(quoteStart..<(quoteStart + quoted)).copyMemory(from: datagram.slice(0..<quoted))
        header.emit(into: bytes.slice(transportStart..<(transportStart + header.length)))
        finish(buffer, addressing, protocol: .icmp, upperLength: header.length)
    }

    /// A TCP segment with the options `header` carries (Linux's layout, ``TCPSegmentHeader``).
    static func tcp(_ buffer: PacketBuffer, _ addressing: Addressing, header: TCPSegmentHeader) {
        let upper = header.length
        guard let bytes = buffer.append(transportStart + upper) else { return }
        fillPayload(bytes, from: transportStart + header.headerLength, count: header.payloadLength, seed: header.sequenceNumber)
        header.emit(into: bytes.slice(transportStart..<(transportStart + upper)),
                    checksum: .ipv4(source: addressing.source, destination: addressing.destination))
        finish(buffer, addressing, protocol: .tcp, upperLength: upper)
    }
}
