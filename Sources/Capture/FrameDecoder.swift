import PacketWire

/// Decodes captured frames layer by layer: outer Ethernet (with VLAN tags), IPv4 or IPv6, UDP, VXLAN
/// when the UDP destination port is in ``vxlanPorts``, then the inner Ethernet frame and the inner IP
/// header's addresses and protocol.
///
/// The decoder never fails and never traps, whatever the bytes. Checksums (outer IPv4 header, outer
/// UDP) are reported, not enforced. A frame that is broken gets the ``DecodeError`` of its first problem
/// in ``DecodedFrame/error``, with everything decoded before it. Outer IPv4 fragments go through an
/// ``IPv4Reassembler``: a frame holding part of a datagram reports ``DecodedFrame/fragment`` and no
/// VXLAN; the frame that completes the datagram reports it whole, as tshark does. So decode a file's
/// frames in order, with one decoder.
///
/// ```swift
/// var decoder = FrameDecoder()
/// try PcapReader(path: path).forEach { print(decoder.decode($0).jsonLine) }
/// ```
public struct FrameDecoder: Sendable {
    /// IANA's VXLAN port and the Linux kernel's default (which Flannel and Cilium use).
    public static let defaultVXLANPorts: [UInt16] = [4789, 8472]

    /// The UDP destination ports whose payload is VXLAN: configuration, not code (gopacket's
    /// `udpPortLayerType` table).
    public var vxlanPorts: Set<UInt16>
    /// The reassembler outer IPv4 fragments go through; its statistics tell what happened to them.
    public private(set) var reassembler: IPv4Reassembler

    /// - Parameters:
    ///   - vxlanPorts: UDP destination ports decoded as VXLAN.
    ///   - reassembly: limits for outer IPv4 reassembly.
    public init(vxlanPorts: some Sequence<UInt16> = FrameDecoder.defaultVXLANPorts,
                reassembly: IPv4Reassembler.Configuration = IPv4Reassembler.Configuration()) {
        self.vxlanPorts = Set(vxlanPorts)
        self.reassembler = IPv4Reassembler(configuration: reassembly)
    }

    /// Decodes a frame lent by ``PcapReader/forEach(_:)``.
    public mutating func decode(_ frame: FrameView) -> DecodedFrame {
        decode(frame.bytes, number: frame.number, timestampNanoseconds: frame.timestampNanoseconds,
               originalLength: frame.originalLength)
    }

    /// Decodes a frame read by ``PcapReader/next()``.
    public mutating func decode(_ frame: Frame) -> DecodedFrame {
        frame.bytes.withUnsafeBytes { bytes in
            decode(bytes, number: frame.number, timestampNanoseconds: frame.timestampNanoseconds,
                   originalLength: frame.originalLength)
        }
    }

    /// Decodes one frame's bytes.
    ///
    /// - Parameters:
    ///   - bytes: the captured bytes, starting with the Ethernet header.
    ///   - number: the frame's number, reported and used to tag fragments.
    ///   - timestampNanoseconds: capture time; reassembly timeouts run on it.
    ///   - originalLength: the length on the wire, when the capture kept less.
    /// - Returns: what could be decoded, and the first problem if there was one.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer, number: Int, timestampNanoseconds: UInt64,
                                originalLength: Int? = nil) -> DecodedFrame {
        var result = DecodedFrame(frame: number, timestampNanoseconds: timestampNanoseconds,
                                  length: max(originalLength ?? bytes.count, bytes.count), capturedLength: bytes.count)
        do {
            try decodeOuter(bytes, into: &result)
        } catch {
            var failure = DecodedFrame.Failure(error)
            if error.code == .truncated && result.capturedLength < result.length {
                failure.message += " (the capture kept \(result.capturedLength) of the frame's \(result.length) bytes)"
            }
            result.error = failure
        }
        return result
    }

    // MARK: - Outer layers

    private mutating func decodeOuter(_ bytes: UnsafeRawBufferPointer, into result: inout DecodedFrame) throws(DecodeError) {
        let ethernet = try EthernetFrame(checking: bytes)
        result.outer.ethernet = DecodedFrame.Ethernet(ethernet)
        switch ethernet.etherType {
        case .ipv4:
            try decodeOuterIPv4(ethernet, into: &result)
        case .ipv6:
            try decodeOuterIPv6(ethernet.payload, offset: ethernet.payloadOffset, into: &result)
        default:
            return
        }
    }

    private mutating func decodeOuterIPv4(_ ethernet: EthernetFrame, into result: inout DecodedFrame) throws(DecodeError) {
        result.outer.ip = DecodedFrame.OuterIP(peekingIPv4: ethernet.payload)
        let ip = try IPv4Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset)
        guard ip.isFragment else {
            try decodeIPv4Payload(ip, into: &result)
            return
        }
        var fragment = DecodedFrame.Fragment(offset: ip.fragmentOffset, moreFragments: ip.moreFragments,
                                             identification: Int(ip.identification))
        result.fragment = fragment
        switch reassembler.add(ip, time: result.timestampNanoseconds, tag: result.frame) {
        case .notFragment:
            try decodeIPv4Payload(ip, into: &result)
        case .held, .duplicate:
            return
        case .discarded(_, let reason):
            throw DecodeError.badValue(.ipv4, offset: ip.frameOffset + 6, expected: "fragments that fit together",
                                       found: "\(reason); the datagram is discarded, as Linux does")
        case .tableFull:
            throw DecodeError.unsupported(
                .ipv4, offset: ip.frameOffset + 4,
                expected: "at most \(reassembler.configuration.maximumPendingDatagrams) datagrams reassembled at once",
                found: "one more; this fragment is dropped")
        case .complete(let datagram):
            fragment.reassembledFrames = datagram.tags
            result.fragment = fragment
            // Decode the datagram behind this frame's Ethernet header, so offsets stay frame-like.
            var whole = Array(ethernet.bytes.slice(0..<ethernet.headerLength))
            whole.append(contentsOf: datagram.bytes)
            let headerLength = ethernet.headerLength
            try whole.withWireBytes { bytes throws(DecodeError) in
                let reassembled = try IPv4Packet(checking: bytes.dropFirst(count: headerLength), frameOffset: headerLength)
                try decodeIPv4Payload(reassembled, into: &result)
            }
        }
    }

    private func decodeIPv4Payload(_ ip: IPv4Packet, into result: inout DecodedFrame) throws(DecodeError) {
        guard ip.protocol == .udp else { return }
        try decodeUDP(ip.payload, offset: ip.payloadOffset,
                      pseudoHeader: .ipv4(source: ip.source, destination: ip.destination), into: &result)
    }

    private func decodeOuterIPv6(_ bytes: UnsafeRawBufferPointer, offset: Int, into result: inout DecodedFrame) throws(DecodeError) {
        result.outer.ip = DecodedFrame.OuterIP(peekingIPv6: bytes)
        let ip = try IPv6Packet(checking: bytes, frameOffset: offset)
        let upper = try ip.upperLayer()
        result.outer.ip?.protocol = Int(upper.protocol.rawValue)
        if let fragment = upper.fragment {
            // TODO: reassemble outer IPv6 fragments too (RFC 8200 §4.5); for now the frame reports the fragment.
            result.fragment = DecodedFrame.Fragment(offset: fragment.fragmentOffset, moreFragments: fragment.moreFragments,
                                                    identification: Int(fragment.identification))
            return
        }
        guard upper.protocol == .udp else { return }
        try decodeUDP(ip.payload.dropFirst(count: upper.offset), offset: ip.payloadOffset + upper.offset,
                      pseudoHeader: .ipv6(source: ip.source, destination: ip.destination), into: &result)
    }

    private func decodeUDP(_ bytes: UnsafeRawBufferPointer, offset: Int, pseudoHeader: PseudoHeader,
                           into result: inout DecodedFrame) throws(DecodeError) {
        let udp = try UDPDatagram(checking: bytes, frameOffset: offset)
        let checksumValid: Bool?
        if udp.checksum == 0 {
            if case .ipv6 = pseudoHeader { checksumValid = false } else { checksumValid = nil }
        } else {
            checksumValid = udp.checksumIsValid(pseudoHeader)
        }
        result.outer.udp = DecodedFrame.UDP(sourcePort: Int(udp.sourcePort), destinationPort: Int(udp.destinationPort),
                                            length: udp.length, checksum: Int(udp.checksum), checksumValid: checksumValid)
        guard vxlanPorts.contains(udp.destinationPort) else { return }

        let packet = try VXLANPacket(checking: udp.payload, frameOffset: udp.payloadOffset)
        result.vxlan = DecodedFrame.VXLAN(
            flags: Int(packet.flags), vni: Int(packet.vni),
            groupPolicyID: packet.hasGroupPolicy ? Int(packet.groupPolicyID) : nil,
            groupPolicyFlags: packet.hasGroupPolicy ? Int(packet.groupPolicyFlags) : nil)
        _ = try VXLANHeader(packet) // RFC 7348 §5: the I flag must be set.
        try decodeInner(packet.payload, offset: packet.payloadOffset, into: &result)
    }

    // MARK: - Inner frame

    private func decodeInner(_ bytes: UnsafeRawBufferPointer, offset: Int, into result: inout DecodedFrame) throws(DecodeError) {
        let ethernet = try EthernetFrame(checking: bytes, frameOffset: offset)
        result.inner = DecodedFrame.Inner(ethernet: DecodedFrame.Ethernet(ethernet))
        switch ethernet.etherType {
        case .ipv4:
            result.inner?.ip = DecodedFrame.InnerIP(peekingIPv4: ethernet.payload)
            let ip = try IPv4Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset)
            if ip.fragmentOffset == 0 {
                result.inner?.summary = Self.summary(ip.protocol, ip.payload, offset: ip.payloadOffset,
                                                     pseudoHeader: ip.moreFragments ? nil : .ipv4(source: ip.source, destination: ip.destination))
            }
        case .ipv6:
            result.inner?.ip = DecodedFrame.InnerIP(peekingIPv6: ethernet.payload)
            let ip = try IPv6Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset)
            let upper = try ip.upperLayer()
            result.inner?.ip?.protocol = Int(upper.protocol.rawValue)
            if upper.fragment == nil {
                result.inner?.summary = Self.summary(upper.protocol, ip.payload.dropFirst(count: upper.offset),
                                                     offset: ip.payloadOffset + upper.offset,
                                                     pseudoHeader: .ipv6(source: ip.source, destination: ip.destination))
            }
        case .arp:
            result.inner?.summary = (try? ARPMessage(ARPPacket(checking: ethernet.payload, frameOffset: ethernet.payloadOffset)))?.description
        default:
            return
        }
    }

    /// The upper layer's one-line description, with "bad checksum" when its checksum does not verify; nil
    /// when it does not parse (the inner packet's problems are the inner host's, not the tunnel's).
    private static func summary(_ proto: IPProtocol, _ bytes: UnsafeRawBufferPointer, offset: Int,
                                pseudoHeader: PseudoHeader?) -> String? {
        func checked<T>(_ parse: (PseudoHeader?) throws(DecodeError) -> T, describe: (T) -> String) -> String? {
            if let value = try? parse(pseudoHeader) { return describe(value) }
            return (try? parse(nil)).map { describe($0) + " (bad checksum)" }
        }
        switch proto {
        case .tcp:
            return checked({ (p: PseudoHeader?) throws(DecodeError) in try TCPHeader(TCPSegment(checking: bytes, frameOffset: offset), verifyingWith: p) },
                           describe: \.description)
        case .udp:
            return checked({ (p: PseudoHeader?) throws(DecodeError) in try UDPHeader(UDPDatagram(checking: bytes, frameOffset: offset), verifyingWith: p) },
                           describe: \.description)
        case .icmp:
            return checked({ (p: PseudoHeader?) throws(DecodeError) in try ICMPv4Header(ICMPv4Message(checking: bytes, frameOffset: offset), verifyChecksum: p != nil) },
                           describe: \.description)
        default:
            return nil
        }
    }
}

// MARK: - Reading headers before their lengths are checked

// These read the fixed header when it is present, so a frame whose IP packet is cut short (a small
// snapshot length) or whose length fields are wrong still shows its addresses beside the error.

extension DecodedFrame.Ethernet {
    init(_ frame: EthernetFrame) {
        self.init(source: frame.source.description, destination: frame.destination.description,
                  vlanIDs: frame.vlanTags.map { Int($0.vlanID) }, etherType: Int(frame.etherType.rawValue))
    }
}

extension DecodedFrame.OuterIP {
    /// The IPv4 fixed header's fields; nil when fewer than 20 bytes or not version 4.
    init?(peekingIPv4 bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= IPv4Packet.minimumHeaderLength, bytes.getInteger(at: 0, as: UInt8.self) >> 4 == 4 else { return nil }
        let headerLength = Int(bytes.getInteger(at: 0, as: UInt8.self) & 0x0F) * 4
        let checksumValid: Bool? = headerLength >= IPv4Packet.minimumHeaderLength && headerLength <= bytes.count
            ? InternetChecksum.checksum(bytes.slice(0..<headerLength)) == 0 : nil
        self.init(version: 4, source: IPv4Address(rawValue: bytes.getInteger(at: 12, as: UInt32.self)).description,
                  destination: IPv4Address(rawValue: bytes.getInteger(at: 16, as: UInt32.self)).description,
                  protocol: Int(bytes.getInteger(at: 9, as: UInt8.self)), ttl: Int(bytes.getInteger(at: 8, as: UInt8.self)),
                  dontFragment: bytes.getInteger(at: 6, as: UInt8.self) & 0x40 != 0, identification: Int(bytes.getInteger(at: 4, as: UInt16.self)),
                  checksumValid: checksumValid)
    }

    /// The IPv6 fixed header's fields (protocol: the next header); nil when fewer than 40 bytes or not
    /// version 6.
    init?(peekingIPv6 bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= IPv6Packet.headerLength, bytes.getInteger(at: 0, as: UInt8.self) >> 4 == 6 else { return nil }
        self.init(version: 6, source: ipv6Address(bytes, at: 8).description,
                  destination: ipv6Address(bytes, at: 24).description,
                  protocol: Int(bytes.getInteger(at: 6, as: UInt8.self)), ttl: Int(bytes.getInteger(at: 7, as: UInt8.self)))
    }
}

extension DecodedFrame.InnerIP {
    init?(peekingIPv4 bytes: UnsafeRawBufferPointer) {
        guard let outer = DecodedFrame.OuterIP(peekingIPv4: bytes) else { return nil }
        self.init(version: 4, source: outer.source, destination: outer.destination, protocol: outer.protocol)
    }

    init?(peekingIPv6 bytes: UnsafeRawBufferPointer) {
        guard let outer = DecodedFrame.OuterIP(peekingIPv6: bytes) else { return nil }
        self.init(version: 6, source: outer.source, destination: outer.destination, protocol: outer.protocol)
    }
}

private func ipv6Address(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> IPv6Address {
    IPv6Address(high: UInt64(bytes.getInteger(at: offset, as: UInt32.self)) << 32 | UInt64(bytes.getInteger(at: offset + 4, as: UInt32.self)),
                low: UInt64(bytes.getInteger(at: offset + 8, as: UInt32.self)) << 32 | UInt64(bytes.getInteger(at: offset + 12, as: UInt32.self)))
}
