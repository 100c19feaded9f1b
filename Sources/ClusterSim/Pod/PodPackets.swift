import PacketWire

/// Builds the frames a pod's network stack sends, into pooled packet buffers, with lengths and checksums
/// filled: Ethernet from the pod's MAC to its gateway, IPv4, then ICMP, UDP or TCP.
enum PodPackets {
    static let ipHeader = 20
    static let ethernetHeader = 14

    struct Addressing {
        var sourceMAC: MACAddress
        var destinationMAC: MACAddress
        var source: IPv4Address
        var destination: IPv4Address
        var timeToLive: UInt8 = 64
        var dontFragment: Bool
        var identification: UInt16
    }

    /// Writes Ethernet + IPv4 in front of an upper-layer packet of `upperLength` bytes already written at
    /// offset 34 of `buffer`.
    static func finish(_ buffer: PacketBuffer, _ addressing: Addressing, protocol: IPProtocol, upperLength: Int) {
        let bytes = buffer.mutableBytes
        IPv4Header(identification: addressing.identification, dontFragment: addressing.dontFragment,
                   timeToLive: addressing.timeToLive, protocol: `protocol`, source: addressing.source,
                   destination: addressing.destination, payloadLength: upperLength)
            .emit(into: bytes.slice(14..<34))
        EthernetHeader(destination: addressing.destinationMAC, source: addressing.sourceMAC, etherType: .ipv4)
            .emit(into: bytes.slice(0..<14))
    }

    /// Fills `count` payload bytes with a recognisable pattern (like ping's).
    static func fillPayload(_ bytes: UnsafeMutableRawBufferPointer, from offset: Int, count: Int, seed: UInt32) {
        for index in 0..<count { bytes[offset + index] = UInt8(truncatingIfNeeded: UInt32(index) &+ seed) }
    }

    static func udp(_ buffer: PacketBuffer, _ addressing: Addressing, sourcePort: UInt16, destinationPort: UInt16,
                    payload: Int, seed: UInt32) {
        let upper = 8 + payload
        guard let bytes = buffer.append(34 + upper) else { return }
        fillPayload(bytes, from: 42, count: payload, seed: seed)
        UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload)
            .emit(into: bytes.slice(34..<(34 + upper)),
                  checksum: .ipv4(source: addressing.source, destination: addressing.destination))
        finish(buffer, addressing, protocol: .udp, upperLength: upper)
    }

    /// ICMP echo request (type 8) or reply (type 0), RFC 792.
    static func echo(_ buffer: PacketBuffer, _ addressing: Addressing, reply: Bool, identifier: UInt16,
                     sequence: UInt16, payload: Int) {
        let kind: ICMPv4Header.Kind = reply ? .echoReply(identifier: identifier, sequenceNumber: sequence)
            : .echoRequest(identifier: identifier, sequenceNumber: sequence)
        let header = ICMPv4Header(kind, payloadLength: payload)
        guard let bytes = buffer.append(34 + header.length) else { return }
        fillPayload(bytes, from: 42, count: payload, seed: UInt32(sequence))
        header.emit(into: bytes.slice(34..<(34 + header.length)))
        finish(buffer, addressing, protocol: .icmp, upperLength: header.length)
    }

    /// ICMP destination unreachable, fragmentation needed (type 3 code 4) with the next-hop MTU
    /// (RFC 1191 §4), quoting the offending datagram's IP header and first 8 data bytes (RFC 792).
    static func fragmentationNeeded(_ buffer: PacketBuffer, _ addressing: Addressing, nextHopMTU: Int,
                                    quoting datagram: UnsafeRawBufferPointer) {
        destinationUnreachable(buffer, addressing, code: ICMPv4UnreachableCode.fragmentationNeeded.rawValue,
                               nextHopMTU: nextHopMTU, quoting: datagram)
    }

    /// ICMP destination unreachable (type 3) with `code`, quoting the offending datagram's IP header and
    /// first 8 data bytes (RFC 792); `nextHopMTU` fills bytes 6–7 for code 4 (RFC 1191 §4).
    static func destinationUnreachable(_ buffer: PacketBuffer, _ addressing: Addressing, code: UInt8, nextHopMTU: Int = 0,
                                       quoting datagram: UnsafeRawBufferPointer) {
        let quoted = min(datagram.count, Int(datagram.first.map { ($0 & 0x0F) * 4 } ?? 20) + 8)
        let kind: ICMPv4Header.Kind = code == ICMPv4UnreachableCode.fragmentationNeeded.rawValue
            ? .destinationUnreachable(.fragmentationNeeded, nextHopMTU: UInt16(truncatingIfNeeded: nextHopMTU))
            : .destinationUnreachable(ICMPv4UnreachableCode(rawValue: code), nextHopMTU: 0)
        let header = ICMPv4Header(kind, payloadLength: quoted)
        guard let bytes = buffer.append(34 + header.length) else { return }
        UnsafeMutableRawBufferPointer(rebasing: bytes[42..<(42 + quoted)]).copyMemory(from: datagram.slice(0..<quoted))
        header.emit(into: bytes.slice(34..<(34 + header.length)))
        finish(buffer, addressing, protocol: .icmp, upperLength: header.length)
    }

    static func tcp(_ buffer: PacketBuffer, _ addressing: Addressing, header: TCPHeader) {
        let upper = header.length
        guard let bytes = buffer.append(34 + upper) else { return }
        fillPayload(bytes, from: 34 + header.headerLength, count: header.payloadLength, seed: header.sequenceNumber)
        header.emit(into: bytes.slice(34..<(34 + upper)),
                    checksum: .ipv4(source: addressing.source, destination: addressing.destination))
        finish(buffer, addressing, protocol: .tcp, upperLength: upper)
    }
}
