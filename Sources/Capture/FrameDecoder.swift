import PacketWire

/// Decodes captured frames layer by layer: the link layer (Ethernet with VLAN tags, a Linux cooked
/// capture header from `tcpdump -i any`, or none for raw IP), IPv4 or IPv6, UDP, then the tunnel the
/// UDP destination port names (VXLAN on ``vxlanPorts``, VXLAN-GPE on ``vxlanGPEPorts``, Geneve on
/// ``genevePorts``), then what the tunnel carries: an Ethernet frame, or for VXLAN-GPE and Geneve an IP
/// packet (VXLAN-GPE also NSH) without one, and the inner IP header with its TCP, UDP or ICMP fields.
///
/// The decoder never fails and never traps, whatever the bytes. Checksums are reported, not enforced. A
/// frame that is broken gets the ``DecodeError`` of its first problem in ``DecodedFrame/error``, with
/// everything decoded before it. A frame cut by the capture's snapshot length is decoded as far as its
/// bytes go: every header that was captured whole is shown (length fields may point past the cut),
/// checksums over bytes not captured are `nil` (unverified, as tshark says), and ``DecodedFrame/cut``
/// names the layer the cut falls in. IPv4 with total length 0 (a TSO or BIG TCP packet captured before
/// segmentation, as Linux's `iph_totlen` reads it) and IPv6 with payload length 0 (a jumbogram, RFC 2675,
/// or BIG TCP) extend to the end of the frame. Outer IPv4 fragments go through an ``IPv4Reassembler``: a
/// frame holding part of a datagram reports ``DecodedFrame/fragment``; the frame that completes the
/// datagram reports it whole, as tshark does. So decode a file's frames in order, with one decoder.
///
/// ```swift
/// let reader = try PcapReader(path: path)
/// var decoder = FrameDecoder(linkType: reader.linkType)
/// try reader.forEach { print(decoder.decode($0).jsonLine) }
/// ```
public struct FrameDecoder: Sendable {
    /// IANA's VXLAN port and the Linux kernel's default (which Flannel and Cilium use).
    public static let defaultVXLANPorts: [UInt16] = [4789, 8472]
    /// IANA's VXLAN-GPE port.
    public static let defaultVXLANGPEPorts: [UInt16] = [VXLANGPEPacket.port]
    /// IANA's Geneve port (OVN-Kubernetes, Antrea, Cilium's Geneve mode).
    public static let defaultGenevePorts: [UInt16] = [GenevePacket.port]

    /// The UDP destination ports whose payload is VXLAN: configuration, not code (gopacket's
    /// `udpPortLayerType` table).
    public var vxlanPorts: Set<UInt16>
    public var vxlanGPEPorts: Set<UInt16>
    public var genevePorts: Set<UInt16>
    /// The link-layer type of the frames (a file has one).
    public var linkType: LinkType
    /// The reassembler outer IPv4 fragments go through; its statistics tell what happened to them.
    public private(set) var reassembler: IPv4Reassembler
    /// Where a cut frame is padded out to its original length, so the views (which check length fields
    /// against the bytes) read the headers that were captured. Bytes past the cut are never shown.
    private var padded: [UInt8] = []
    /// The number of captured bytes of the frame being decoded; offsets at or past it were not captured.
    private var captured = 0
    /// The layer the decoder last entered, for ``DecodedFrame/cut``.
    private var lastLayer: (layer: Layer, inner: Bool) = (.ethernet, false)
    /// The most a cut frame is padded to: libpcap's largest Ethernet snapshot length.
    static let largestPaddedFrame = 262_144

    /// - Parameters:
    ///   - vxlanPorts: UDP destination ports decoded as VXLAN.
    ///   - vxlanGPEPorts: UDP destination ports decoded as VXLAN-GPE.
    ///   - genevePorts: UDP destination ports decoded as Geneve.
    ///   - linkType: the frames' link-layer type; one of ``LinkType/decodable``.
    ///   - reassembly: limits for outer IPv4 reassembly.
    public init(vxlanPorts: some Sequence<UInt16> = FrameDecoder.defaultVXLANPorts,
                vxlanGPEPorts: some Sequence<UInt16> = FrameDecoder.defaultVXLANGPEPorts,
                genevePorts: some Sequence<UInt16> = FrameDecoder.defaultGenevePorts,
                linkType: LinkType = .ethernet,
                reassembly: IPv4Reassembler.Configuration = IPv4Reassembler.Configuration()) {
        self.vxlanPorts = Set(vxlanPorts)
        self.vxlanGPEPorts = Set(vxlanGPEPorts)
        self.genevePorts = Set(genevePorts)
        self.linkType = linkType
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
    ///   - bytes: the captured bytes, starting with the link-layer header.
    ///   - number: the frame's number, reported and used to tag fragments.
    ///   - timestampNanoseconds: capture time; reassembly timeouts run on it.
    ///   - originalLength: the length on the wire, when the capture kept less.
    /// - Returns: what could be decoded, and the first problem if there was one.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer, number: Int, timestampNanoseconds: UInt64,
                                originalLength: Int? = nil) -> DecodedFrame {
        var result = DecodedFrame(frame: number, timestampNanoseconds: timestampNanoseconds,
                                  length: max(originalLength ?? bytes.count, bytes.count), capturedLength: bytes.count)
        captured = bytes.count
        lastLayer = (linkType == .ethernet ? .ethernet : linkType == .rawIP ? .ipv4 : .linuxCooked, false)
        let isCut = result.capturedLength < result.length
        do {
            if isCut {
                // Pad the captured bytes out to the frame's length (bounded), so that a header whose
                // length field reaches past the cut still parses; `captured` keeps the truth.
                let paddedLength = max(bytes.count, min(result.length, Self.largestPaddedFrame))
                padded.removeAll(keepingCapacity: true)
                padded.append(contentsOf: bytes)
                padded.append(contentsOf: repeatElement(0, count: paddedLength - bytes.count))
                var scratch = padded
                padded = []
                defer { padded = scratch }
                try scratch.withWireBytes { whole throws(DecodeError) in try decodeLink(whole, into: &result) }
            } else {
                try decodeLink(bytes, into: &result)
            }
            if isCut && result.cut == nil {
                result.cut = DecodedFrame.Cut(layer: lastLayer.layer, inner: lastLayer.inner, inHeader: false)
            }
        } catch {
            result.error = DecodedFrame.Failure(error)
        }
        return result
    }

    // MARK: - Cuts

    /// Whether the `length` bytes of a header at `offset` were captured. When they were not, records the
    /// cut in `result` and returns false: the caller shows nothing of the header (or only the fields
    /// before the cut) and stops.
    private func wasCaptured(_ layer: Layer, inner: Bool, offset: Int, length: Int,
                             into result: inout DecodedFrame) -> Bool {
        if offset + length <= captured { return true }
        if result.cut == nil { result.cut = DecodedFrame.Cut(layer: layer, inner: inner, inHeader: true) }
        return false
    }

    /// Whether bytes up to `end` (a frame offset) were captured, so a checksum over them can be verified.
    private func capturedThrough(_ end: Int) -> Bool { end <= captured }

    private mutating func enter(_ layer: Layer, inner: Bool) { lastLayer = (layer, inner) }

    // MARK: - Link layer

    private mutating func decodeLink(_ bytes: UnsafeRawBufferPointer, into result: inout DecodedFrame) throws(DecodeError) {
        switch linkType {
        case .linuxSLL, .linuxSLL2:
            let version: LinuxCookedPacket.Version = linkType == .linuxSLL ? .v1 : .v2
            guard wasCaptured(.linuxCooked, inner: false, offset: 0, length: LinuxCookedPacket.headerLength(version), into: &result) else {
                throw .truncated(.linuxCooked, offset: 0, needed: LinuxCookedPacket.headerLength(version), available: captured)
            }
            let cooked = try LinuxCookedPacket(checking: bytes, version: version)
            let header = LinuxCookedHeader(cooked)
            result.outer.linuxCooked = DecodedFrame.LinuxCooked(
                version: version.rawValue, packetType: Int(header.packetType.rawValue), direction: header.packetType.description,
                interfaceIndex: header.interfaceIndex.map(Int.init), hardwareType: Int(header.hardwareType),
                source: cooked.sourceMAC?.description
                    ?? (header.address.isEmpty ? nil : header.address.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")),
                protocol: Int(header.protocol.rawValue))
            var etherType = cooked.protocol
            var payload = cooked.payload
            var offset = cooked.payloadOffset
            // A VLAN tag the kernel did not strip follows the cooked header as 4 bytes of tag + EtherType.
            while etherType.isVLANTag, payload.count >= VLANTag.length, offset + VLANTag.length <= captured {
                etherType = EtherType(rawValue: payload.getInteger(at: VLANTag.Field.encapsulatedEtherType.lowerBound, as: UInt16.self))
                payload = payload.dropFirst(count: VLANTag.length)
                offset += VLANTag.length
            }
            if etherType == .transparentEthernetBridging {
                // An Ethernet frame after the cooked header (a GRETAP or bridge port): decode it as one.
                try decodeOuterEthernet(payload, offset: offset, into: &result)
                return
            }
            try decodeOuterNetwork(etherType, payload, offset: offset, ethernetHeader: nil, into: &result)
        case .rawIP:
            guard wasCaptured(.ipv4, inner: false, offset: 0, length: 1, into: &result) else {
                throw .truncated(.ipv4, offset: 0, needed: 1, available: 0)
            }
            // The version nibble opens IPv4 and IPv6 headers alike.
            let version = IPv4Packet(unchecked: bytes).version
            try decodeOuterNetwork(version == 6 ? .ipv6 : .ipv4, bytes, offset: 0, ethernetHeader: nil, into: &result)
        default:
            try decodeOuterEthernet(bytes, offset: 0, into: &result)
        }
    }

    private mutating func decodeOuterEthernet(_ bytes: UnsafeRawBufferPointer, offset: Int, into result: inout DecodedFrame) throws(DecodeError) {
        enter(.ethernet, inner: false)
        guard wasCaptured(.ethernet, inner: false, offset: offset, length: EthernetFrame.minimumHeaderLength, into: &result) else {
            throw .truncated(.ethernet, offset: offset, needed: EthernetFrame.minimumHeaderLength, available: captured - offset)
        }
        let ethernet = try EthernetFrame(checking: bytes, frameOffset: offset)
        result.outer.ethernet = DecodedFrame.Ethernet(ethernet)
        try decodeOuterNetwork(ethernet.etherType, ethernet.payload, offset: ethernet.payloadOffset,
                               ethernetHeader: ethernet.bytes.slice(0..<ethernet.headerLength), into: &result)
    }

    /// - Parameter ethernetHeader: the link header reassembled datagrams are decoded behind, so offsets
    ///   stay frame-like; nil for cooked and raw frames.
    private mutating func decodeOuterNetwork(_ etherType: EtherType, _ bytes: UnsafeRawBufferPointer, offset: Int,
                                             ethernetHeader: UnsafeRawBufferPointer?,
                                             into result: inout DecodedFrame) throws(DecodeError) {
        switch etherType {
        case .ipv4:
            try decodeOuterIPv4(bytes, offset: offset, ethernetHeader: ethernetHeader, into: &result)
        case .ipv6:
            try decodeOuterIPv6(bytes, offset: offset, into: &result)
        case .arp:
            enter(.arp, inner: false)
        default:
            return
        }
    }

    // MARK: - Outer IP

    private mutating func decodeOuterIPv4(_ bytes: UnsafeRawBufferPointer, offset: Int, ethernetHeader: UnsafeRawBufferPointer?,
                                          into result: inout DecodedFrame) throws(DecodeError) {
        enter(.ipv4, inner: false)
        result.outer.ip = DecodedFrame.OuterIP(peekingIPv4: bytes.slice(0..<min(bytes.count, max(0, captured - offset))))
        guard wasCaptured(.ipv4, inner: false, offset: offset, length: IPv4Packet.minimumHeaderLength, into: &result) else { return }
        let headerLength = IPv4Packet(unchecked: bytes).headerLength
        guard wasCaptured(.ipv4, inner: false, offset: offset, length: max(headerLength, IPv4Packet.minimumHeaderLength), into: &result) else {
            result.outer.ip?.checksumValid = nil
            return
        }
        let ip = try IPv4Reading(bytes, frameOffset: offset)
        guard let view = ip.view, view.isFragment else {
            try decodeOuterTransport(ip.protocol, ip.payload, offset: ip.payloadOffset,
                                     pseudoHeader: .ipv4(source: ip.source, destination: ip.destination), into: &result)
            return
        }
        var fragment = DecodedFrame.Fragment(offset: view.fragmentOffset, moreFragments: view.moreFragments,
                                             identification: Int(view.identification))
        result.fragment = fragment
        // A fragment cut by the snapshot length cannot be reassembled: its data is not all there.
        guard capturedThrough(offset + view.totalLength) else { return }
        switch reassembler.add(view, time: result.timestampNanoseconds, tag: result.frame) {
        case .notFragment:
            try decodeOuterTransport(ip.protocol, ip.payload, offset: ip.payloadOffset,
                                     pseudoHeader: .ipv4(source: ip.source, destination: ip.destination), into: &result)
        case .held, .duplicate:
            return
        case .discarded(_, let reason):
            throw DecodeError.badValue(.ipv4, offset: offset + IPv4Packet.Field.flagsAndFragmentOffset.lowerBound, expected: "fragments that fit together",
                                       found: "\(reason); the datagram is discarded, as Linux does")
        case .tableFull:
            throw DecodeError.unsupported(
                .ipv4, offset: offset + IPv4Packet.Field.identification.lowerBound,
                expected: "at most \(reassembler.configuration.maximumPendingDatagrams) datagrams reassembled at once",
                found: "one more; this fragment is dropped")
        case .complete(let datagram):
            fragment.reassembledFrames = datagram.tags
            result.fragment = fragment
            // Decode the datagram behind this frame's link header, so offsets stay frame-like.
            var whole = ethernetHeader.map { Array($0) } ?? []
            let linkLength = whole.count
            whole.append(contentsOf: datagram.bytes)
            let savedCaptured = captured
            captured = whole.count
            defer { captured = savedCaptured }
            try whole.withWireBytes { bytes throws(DecodeError) in
                let reassembled = try IPv4Reading(bytes.dropFirst(count: linkLength), frameOffset: linkLength)
                try decodeOuterTransport(reassembled.protocol, reassembled.payload, offset: reassembled.payloadOffset,
                                         pseudoHeader: .ipv4(source: reassembled.source, destination: reassembled.destination),
                                         into: &result)
            }
        }
    }

    private mutating func decodeOuterIPv6(_ bytes: UnsafeRawBufferPointer, offset: Int, into result: inout DecodedFrame) throws(DecodeError) {
        enter(.ipv6, inner: false)
        guard wasCaptured(.ipv6, inner: false, offset: offset, length: IPv6Packet.headerLength, into: &result) else { return }
        result.outer.ip = DecodedFrame.OuterIP(peekingIPv6: bytes)
        let ip = try IPv6Reading(bytes, frameOffset: offset, captured: captured)
        result.outer.ip?.protocol = Int(ip.protocol.rawValue)
        if let fragment = ip.fragment {
            // TODO: reassemble outer IPv6 fragments too (RFC 8200 §4.5); for now the frame reports the fragment.
            result.fragment = DecodedFrame.Fragment(offset: fragment.fragmentOffset, moreFragments: fragment.moreFragments,
                                                    identification: Int(fragment.identification))
            return
        }
        if ip.extensionsCut {
            _ = wasCaptured(.ipv6, inner: false, offset: ip.payloadOffset, length: 1, into: &result)
            return
        }
        try decodeOuterTransport(ip.protocol, ip.payload, offset: ip.payloadOffset,
                                 pseudoHeader: .ipv6(source: ip.source, destination: ip.destination), into: &result)
    }

    // MARK: - Outer UDP and the tunnels

    private mutating func decodeOuterTransport(_ proto: IPProtocol, _ bytes: UnsafeRawBufferPointer, offset: Int,
                                               pseudoHeader: PseudoHeader, into result: inout DecodedFrame) throws(DecodeError) {
        guard proto == .udp else {
            if proto == .tcp { enter(.tcp, inner: false) } else if proto == .icmp { enter(.icmpv4, inner: false) }
            else if proto == .icmpv6 { enter(.icmpv6, inner: false) }
            return
        }
        enter(.udp, inner: false)
        // The ports are shown when their 4 bytes are there, even if the rest of the header is cut.
        guard wasCaptured(.udp, inner: false, offset: offset, length: UDPDatagram.headerLength, into: &result) else {
            let ports = UDPDatagram.Field.destinationPort.upperBound
            if offset + ports <= captured, bytes.count >= ports {
                let udp = UDPDatagram(unchecked: bytes, frameOffset: offset)
                result.outer.udp = DecodedFrame.UDP(sourcePort: Int(udp.sourcePort), destinationPort: Int(udp.destinationPort),
                                                    length: 0, checksum: 0, checksumValid: nil)
            }
            return
        }
        let udp = try UDPDatagram(checking: bytes, frameOffset: offset)
        let checksumValid: Bool?
        if udp.checksum == 0 {
            if case .ipv6 = pseudoHeader { checksumValid = false } else { checksumValid = nil }
        } else {
            checksumValid = capturedThrough(offset + udp.length) ? udp.checksumIsValid(pseudoHeader) : nil
        }
        result.outer.udp = DecodedFrame.UDP(sourcePort: Int(udp.sourcePort), destinationPort: Int(udp.destinationPort),
                                            length: udp.length, checksum: Int(udp.checksum), checksumValid: checksumValid)
        if vxlanPorts.contains(udp.destinationPort) {
            try decodeVXLAN(udp.payload, offset: udp.payloadOffset, into: &result)
        } else if vxlanGPEPorts.contains(udp.destinationPort) {
            try decodeVXLANGPE(udp.payload, offset: udp.payloadOffset, into: &result)
        } else if genevePorts.contains(udp.destinationPort) {
            try decodeGeneve(udp.payload, offset: udp.payloadOffset, into: &result)
        }
    }

    private mutating func decodeVXLAN(_ bytes: UnsafeRawBufferPointer, offset: Int, into result: inout DecodedFrame) throws(DecodeError) {
        enter(.vxlan, inner: false)
        guard wasCaptured(.vxlan, inner: false, offset: offset, length: VXLANPacket.headerLength, into: &result) else { return }
        let packet = try VXLANPacket(checking: bytes, frameOffset: offset)
        result.vxlan = DecodedFrame.VXLAN(
            flags: Int(packet.flags), vni: Int(packet.vni),
            groupPolicyID: packet.hasGroupPolicy ? Int(packet.groupPolicyID) : nil,
            groupPolicyFlags: packet.hasGroupPolicy ? Int(packet.groupPolicyFlags) : nil)
        _ = try VXLANHeader(packet) // RFC 7348 §5: the I flag must be set.
        // A plain VXLAN header never says what follows: it is Ethernet. A VXLAN-GPE header sent to a
        // VXLAN port (P set, next protocol in byte 3) is not misread as Ethernet.
        let asGPE = VXLANGPEPacket(unchecked: packet.bytes, frameOffset: offset)
        if asGPE.hasNextProtocol, asGPE.reserved == 0, asGPE.nextProtocol.rawValue != 0 {
            throw DecodeError.badValue(.vxlan, offset: offset, expected: "a VXLAN header (flags 0x08), Ethernet after it",
                                       found: "flags 0x\(String(packet.flags, radix: 16)) and next protocol "
                                           + "\(asGPE.nextProtocol): "
                                           + "a VXLAN-GPE header; decode with --vxlan-gpe-port \(result.outer.udp?.destinationPort ?? 4790)")
        }
        try decodeInnerEthernet(packet.payload, offset: packet.payloadOffset, into: &result)
    }

    private mutating func decodeVXLANGPE(_ bytes: UnsafeRawBufferPointer, offset: Int, into result: inout DecodedFrame) throws(DecodeError) {
        enter(.vxlanGPE, inner: false)
        guard wasCaptured(.vxlanGPE, inner: false, offset: offset, length: VXLANGPEPacket.headerLength, into: &result) else { return }
        let packet = try VXLANGPEPacket(checking: bytes, frameOffset: offset)
        result.vxlanGPE = DecodedFrame.VXLANGPE(flags: Int(packet.flags), vni: Int(packet.vni),
                                                nextProtocol: Int(packet.nextProtocol.rawValue), oam: packet.isOAM)
        let header = try VXLANGPEHeader(packet)
        try decodeNextProtocol(header.nextProtocol, packet.payload, offset: packet.payloadOffset, layer: .vxlanGPE, depth: 0,
                               into: &result)
    }

    /// What a VXLAN-GPE or NSH next protocol names: IP without Ethernet, Ethernet, or NSH.
    private mutating func decodeNextProtocol(_ next: VXLANGPENextProtocol, _ bytes: UnsafeRawBufferPointer, offset: Int,
                                             layer: Layer, depth: Int, into result: inout DecodedFrame) throws(DecodeError) {
        switch next {
        case .ipv4, .ipv6:
            if result.inner == nil { result.inner = DecodedFrame.Inner() }
            try decodeInnerNetwork(next == .ipv4 ? .ipv4 : .ipv6, bytes, offset: offset, into: &result)
        case .ethernet:
            try decodeInnerEthernet(bytes, offset: offset, into: &result)
        case .nsh where depth < 4:
            enter(.nsh, inner: true)
            guard wasCaptured(.nsh, inner: true, offset: offset, length: NSHPacket.minimumHeaderLength, into: &result) else { return }
            let packet = try NSHPacket(checking: bytes, frameOffset: offset)
            let nsh = try NSHHeader(packet)
            if result.inner == nil { result.inner = DecodedFrame.Inner() }
            result.inner?.nsh = DecodedFrame.NSH(servicePathIdentifier: Int(nsh.servicePathIdentifier),
                                                 serviceIndex: Int(nsh.serviceIndex), metadataType: Int(nsh.metadataType),
                                                 nextProtocol: Int(nsh.nextProtocol.rawValue), ttl: Int(nsh.timeToLive),
                                                 length: nsh.headerLength)
            try decodeNextProtocol(nsh.nextProtocol, packet.payload, offset: packet.payloadOffset, layer: .nsh,
                                   depth: depth + 1, into: &result)
        default:
            throw DecodeError.unsupported(layer, offset: offset - (layer == .vxlanGPE ? 5 : 1),
                                          expected: "next protocol IPv4, IPv6, Ethernet or NSH", found: "\(next)")
        }
    }

    private mutating func decodeGeneve(_ bytes: UnsafeRawBufferPointer, offset: Int, into result: inout DecodedFrame) throws(DecodeError) {
        enter(.geneve, inner: false)
        guard wasCaptured(.geneve, inner: false, offset: offset, length: GenevePacket.headerLength, into: &result) else { return }
        let optionsLength = GenevePacket(unchecked: bytes, frameOffset: offset).optionsLength
        let packet = try GenevePacket(checking: bytes, frameOffset: offset)
        result.geneve = DecodedFrame.Geneve(version: Int(packet.version), vni: Int(packet.vni),
                                            protocolType: Int(packet.protocolType.rawValue), oam: packet.isOAM,
                                            critical: packet.hasCriticalOptions, optionsLength: optionsLength, options: [])
        guard wasCaptured(.geneve, inner: false, offset: offset, length: GenevePacket.headerLength + optionsLength, into: &result) else { return }
        let header = try GeneveHeader(packet)
        result.geneve?.options = header.options.map { option in
            DecodedFrame.Geneve.Option(optionClass: Int(option.optionClass), type: Int(option.type), critical: option.isCritical,
                                       data: option.data.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        }
        switch header.protocolType {
        case .transparentEthernetBridging:
            try decodeInnerEthernet(packet.payload, offset: packet.payloadOffset, into: &result)
        case .ipv4, .ipv6:
            result.inner = DecodedFrame.Inner()
            try decodeInnerNetwork(header.protocolType, packet.payload, offset: packet.payloadOffset, into: &result)
        default:
            return
        }
    }

    // MARK: - Inner packet

    private mutating func decodeInnerEthernet(_ bytes: UnsafeRawBufferPointer, offset: Int, into result: inout DecodedFrame) throws(DecodeError) {
        enter(.ethernet, inner: true)
        guard wasCaptured(.ethernet, inner: true, offset: offset, length: EthernetFrame.minimumHeaderLength, into: &result) else { return }
        let ethernet = try EthernetFrame(checking: bytes, frameOffset: offset)
        if result.inner == nil { result.inner = DecodedFrame.Inner() }
        result.inner?.ethernet = DecodedFrame.Ethernet(ethernet)
        try decodeInnerNetwork(ethernet.etherType, ethernet.payload, offset: ethernet.payloadOffset, into: &result)
    }

    private mutating func decodeInnerNetwork(_ etherType: EtherType, _ bytes: UnsafeRawBufferPointer, offset: Int,
                                             into result: inout DecodedFrame) throws(DecodeError) {
        switch etherType {
        case .ipv4:
            enter(.ipv4, inner: true)
            guard wasCaptured(.ipv4, inner: true, offset: offset, length: IPv4Packet.minimumHeaderLength, into: &result) else { return }
            result.inner?.ip = DecodedFrame.InnerIP(peekingIPv4: bytes)
            let headerLength = IPv4Packet(unchecked: bytes).headerLength
            guard wasCaptured(.ipv4, inner: true, offset: offset, length: max(headerLength, IPv4Packet.minimumHeaderLength),
                              into: &result) else { return }
            let ip = try IPv4Reading(bytes, frameOffset: offset)
            if ip.view?.fragmentOffset ?? 0 == 0 {
                decodeInnerTransport(ip.protocol, ip.payload, offset: ip.payloadOffset,
                                     pseudoHeader: ip.view?.moreFragments == true ? nil : .ipv4(source: ip.source, destination: ip.destination),
                                     into: &result)
            }
        case .ipv6:
            enter(.ipv6, inner: true)
            guard wasCaptured(.ipv6, inner: true, offset: offset, length: IPv6Packet.headerLength, into: &result) else { return }
            result.inner?.ip = DecodedFrame.InnerIP(peekingIPv6: bytes)
            let ip = try IPv6Reading(bytes, frameOffset: offset, captured: captured)
            result.inner?.ip?.protocol = Int(ip.protocol.rawValue)
            if ip.extensionsCut {
                _ = wasCaptured(.ipv6, inner: true, offset: ip.payloadOffset, length: 1, into: &result)
            } else if ip.fragment == nil {
                decodeInnerTransport(ip.protocol, ip.payload, offset: ip.payloadOffset,
                                     pseudoHeader: .ipv6(source: ip.source, destination: ip.destination), into: &result)
            }
        case .arp:
            enter(.arp, inner: true)
            guard wasCaptured(.arp, inner: true, offset: offset, length: 28, into: &result) else { return }
            result.inner?.summary = (try? ARPMessage(ARPPacket(checking: bytes, frameOffset: offset)))?.description
        default:
            return
        }
    }

    /// The inner TCP, UDP or ICMP header's fields and the one-line summary. The inner packet's problems
    /// are the inner host's, not the tunnel's: nothing here is an error.
    ///
    /// - Parameter pseudoHeader: nil when the checksum cannot be verified (a first fragment).
    private mutating func decodeInnerTransport(_ proto: IPProtocol, _ bytes: UnsafeRawBufferPointer, offset: Int,
                                               pseudoHeader: PseudoHeader?, into result: inout DecodedFrame) {
        let whole = capturedThrough(offset + bytes.count)
        let verify = whole ? pseudoHeader : nil
        switch proto {
        case .tcp:
            enter(.tcp, inner: true)
            let minimum = TCPSegment.minimumHeaderLength
            guard wasCaptured(.tcp, inner: true, offset: offset, length: minimum, into: &result), bytes.count >= minimum else { return }
            // The fixed header is there; the options the data offset announces may not be.
            let tcp = TCPSegment(unchecked: bytes, frameOffset: offset)
            let flags = Int(tcp.flagBits)
            result.inner?.tcp = DecodedFrame.TCP(
                sourcePort: Int(tcp.sourcePort), destinationPort: Int(tcp.destinationPort),
                sequence: Int(tcp.sequenceNumber), acknowledgment: Int(tcp.acknowledgmentNumber),
                flags: flags, flagNames: Self.tcpFlagNames(flags), window: Int(tcp.window),
                checksumValid: verify.map { $0.checksum(of: bytes, protocol: .tcp) == 0 })
            guard wasCaptured(.tcp, inner: true, offset: offset, length: max(tcp.headerLength, minimum), into: &result) else { return }
        case .udp:
            enter(.udp, inner: true)
            let headerLength = UDPDatagram.headerLength
            guard wasCaptured(.udp, inner: true, offset: offset, length: headerLength, into: &result), bytes.count >= headerLength else { return }
            // The header is there; the data its length announces may not be.
            let udp = UDPDatagram(unchecked: bytes, frameOffset: offset)
            let checksum = udp.checksum
            let length = udp.length
            var valid: Bool?
            if let verify, length >= headerLength, length <= bytes.count {
                if checksum == 0 {
                    if case .ipv6 = verify { valid = false }
                } else {
                    valid = verify.checksum(of: bytes.slice(0..<length), protocol: .udp) == 0
                }
            }
            result.inner?.udp = DecodedFrame.InnerUDP(sourcePort: Int(udp.sourcePort), destinationPort: Int(udp.destinationPort),
                                                      length: length, checksumValid: valid)
        case .icmp, .icmpv6:
            let isV6 = proto == .icmpv6
            enter(isV6 ? .icmpv6 : .icmpv4, inner: true)
            // Type, code and checksum: the part of the header every ICMP message has.
            let shown = ICMPv4Message.Field.checksum.upperBound
            guard wasCaptured(isV6 ? .icmpv6 : .icmpv4, inner: true, offset: offset, length: shown, into: &result),
                  bytes.count >= shown else { return }
            var valid: Bool?
            if let verify {
                valid = isV6 ? verify.checksum(of: bytes, protocol: .icmpv6) == 0 : InternetChecksum.checksum(bytes) == 0
            }
            // ICMPv6 (RFC 4443 §2.1) opens with the same type, code and checksum as ICMPv4 (RFC 792).
            let icmp = ICMPv4Message(unchecked: bytes, frameOffset: offset)
            result.inner?.icmp = DecodedFrame.ICMP(version: isV6 ? 6 : 4, type: Int(icmp.type.rawValue),
                                                   code: Int(icmp.code), checksumValid: valid)
            if isV6 { return }
        default:
            return
        }
        result.inner?.summary = Self.summary(proto, bytes, offset: offset, pseudoHeader: verify)
    }

    /// tcpdump's order and names for the TCP flag bits that are set: `SYN,ACK`.
    static func tcpFlagNames(_ flags: Int) -> String {
        let names: [(Int, String)] = [(0x002, "SYN"), (0x010, "ACK"), (0x001, "FIN"), (0x004, "RST"), (0x008, "PSH"),
                                      (0x020, "URG"), (0x040, "ECE"), (0x080, "CWR"), (0x100, "NS")]
        return names.filter { flags & $0.0 != 0 }.map(\.1).joined(separator: ",")
    }

    /// The upper layer's one-line description, with "bad checksum" when its checksum does not verify; nil
    /// when it does not parse (the inner packet's problems are the inner host's, not the tunnel's).
    private static func summary(_ proto: IPProtocol, _ bytes: UnsafeRawBufferPointer, offset: Int,
                                pseudoHeader: PseudoHeader?) -> String? {
        func checked<T>(_ parse: (PseudoHeader?) throws(DecodeError) -> T, describe: (T) -> String) -> String? {
            if let value = try? parse(pseudoHeader) { return describe(value) }
            return (try? parse(nil)).map { describe($0) + (pseudoHeader == nil ? "" : " (bad checksum)") }
        }
        switch proto {
        case .tcp:
            return checked({ (p: PseudoHeader?) throws(DecodeError) in try TCPHeader(TCPSegment(checking: bytes, frameOffset: offset), verifyingWith: p) },
                           describe: \.description)
        case .udp:
            return checked({ (p: PseudoHeader?) throws(DecodeError) in try UDPHeader(UDPDatagram(checking: bytes, frameOffset: offset), verifyingWith: p) },
                           describe: \.description)
        case .icmp:
            return checked({ (p: PseudoHeader?) throws(DecodeError) in try ICMPv4Header(ICMPv4Message(checking: bytes, frameOffset: offset), verifyingChecksum: p != nil) },
                           describe: \.description)
        default:
            return nil
        }
    }
}

// MARK: - IP read as Linux reads it for GSO packets

/// An IPv4 header and the bytes it carries. A total length of 0 with a header after it is what Linux puts
/// on a GSO packet over 64 KiB (BIG TCP, and TSO captures taken before segmentation): `iph_totlen` in
/// include/net/ip.h then takes the length from the packet, and so do we (and tshark's `ip.tso_support`).
struct IPv4Reading {
    var view: IPv4Packet?
    var `protocol`: IPProtocol
    var source: IPv4Address
    var destination: IPv4Address
    var payload: UnsafeRawBufferPointer
    var payloadOffset: Int

    init(_ bytes: UnsafeRawBufferPointer, frameOffset: Int) throws(DecodeError) {
        // The fixed header's fields, read before the checked view refuses the total length of 0.
        let header = IPv4Packet(unchecked: bytes, frameOffset: frameOffset)
        if bytes.count >= IPv4Packet.minimumHeaderLength, header.version == 4, header.totalLength == 0 {
            let headerLength = header.headerLength
            guard headerLength >= IPv4Packet.minimumHeaderLength, headerLength <= bytes.count else {
                throw .badLength(.ipv4, offset: frameOffset, expected: "a header length of 20 to \(bytes.count) bytes", found: headerLength)
            }
            view = nil
            self.protocol = header.protocol
            source = header.source
            destination = header.destination
            payload = bytes.dropFirst(count: headerLength)
            payloadOffset = frameOffset + headerLength
            return
        }
        let ip = try IPv4Packet(checking: bytes, frameOffset: frameOffset)
        view = ip
        self.protocol = ip.protocol
        source = ip.source
        destination = ip.destination
        payload = ip.payload
        payloadOffset = ip.payloadOffset
    }
}

/// An IPv6 header, its extension headers walked, and the upper layer's bytes. A payload length of 0 is a
/// jumbogram (RFC 2675: the hop-by-hop Jumbo Payload option has the length) or, without that option, a
/// BIG TCP packet captured before segmentation; either way the payload runs to the end of the frame.
struct IPv6Reading {
    var source: IPv6Address
    var destination: IPv6Address
    var `protocol`: IPProtocol
    var fragment: IPv6FragmentHeader?
    /// The upper layer's header and data.
    var payload: UnsafeRawBufferPointer
    var payloadOffset: Int
    /// The extension headers run past the captured bytes: the upper layer is not known.
    var extensionsCut = false

    init(_ bytes: UnsafeRawBufferPointer, frameOffset: Int, captured: Int) throws(DecodeError) {
        guard bytes.count >= IPv6Packet.headerLength else {
            throw .truncated(.ipv6, offset: frameOffset, needed: IPv6Packet.headerLength, available: bytes.count)
        }
        // The fixed header's fields, read before the checked view refuses a payload length of 0.
        let header = IPv6Packet(unchecked: bytes, frameOffset: frameOffset)
        guard header.version == 6 else {
            throw .badVersion(.ipv6, offset: frameOffset, expected: 6, found: Int(header.version))
        }
        source = header.source
        destination = header.destination
        let payloadLength = header.payloadLength
        var data: UnsafeRawBufferPointer
        if payloadLength == 0 {
            data = bytes.dropFirst(count: IPv6Packet.headerLength)
        } else {
            guard IPv6Packet.headerLength + payloadLength <= bytes.count else {
                throw .truncated(.ipv6, offset: frameOffset + IPv6Packet.Field.payloadLength.lowerBound, needed: IPv6Packet.headerLength + payloadLength, available: bytes.count)
            }
            data = bytes.slice(IPv6Packet.headerLength..<(IPv6Packet.headerLength + payloadLength))
        }
        let dataOffset = frameOffset + IPv6Packet.headerLength
        var next = header.nextHeader
        var offset = 0
        fragment = nil
        walk: while true {
            let length: Int
            switch next {
            case .hopByHopOptions, .ipv6Routing, .destinationOptions, .authenticationHeader, .ipv6Fragment:
                let opening = IPv6ExtensionHeader.minimumLength
                guard dataOffset + offset + opening <= captured else {
                    extensionsCut = true
                    break walk
                }
                guard data.count >= offset + opening else {
                    throw .truncated(.ipv6, offset: dataOffset + offset, needed: offset + opening, available: data.count)
                }
                let field = data.getInteger(at: offset + IPv6ExtensionHeader.Field.length, as: UInt8.self)
                length = IPv6ExtensionHeader.length(of: next, lengthField: field) ?? opening
                guard dataOffset + offset + length <= captured else {
                    extensionsCut = true
                    break walk
                }
                guard data.count >= offset + length else {
                    throw .truncated(.ipv6, offset: dataOffset + offset, needed: offset + length, available: data.count)
                }
                if next == .ipv6Fragment {
                    fragment = IPv6FragmentHeader(IPv6FragmentPacket(unchecked: data.dropFirst(count: offset),
                                                                     frameOffset: dataOffset + offset))
                }
                if next == .hopByHopOptions, payloadLength == 0 {
                    // RFC 2675 §2: the Jumbo Payload option holds the payload's length after the IPv6 header.
                    var option = offset + IPv6ExtensionHeader.Field.options
                    while option + IPv6Option.Field.data <= offset + length {
                        let type = data.getInteger(at: option + IPv6Option.Field.type, as: UInt8.self)
                        if type == IPv6Option.pad1 { option += 1; continue }
                        let optionLength = Int(data.getInteger(at: option + IPv6Option.Field.dataLength, as: UInt8.self))
                        if type == IPv6Option.jumboPayload, optionLength == IPv6Option.jumboPayloadDataLength,
                           option + IPv6Option.Field.data + optionLength <= offset + length {
                            let jumbo = Int(data.getInteger(at: option + IPv6Option.Field.data, as: UInt32.self))
                            if jumbo <= data.count { data = data.slice(0..<jumbo) }
                        }
                        option += IPv6Option.Field.data + optionLength
                    }
                }
            default:
                break walk
            }
            next = IPProtocol(rawValue: data.getInteger(at: offset + IPv6ExtensionHeader.Field.nextHeader, as: UInt8.self))
            offset += length
            if let fragment, fragment.fragmentOffset != 0 { break walk }
        }
        self.protocol = next
        payload = data.dropFirst(count: min(offset, data.count))
        payloadOffset = dataOffset + offset
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
        let ip = IPv4Packet(unchecked: bytes)
        guard bytes.count >= IPv4Packet.minimumHeaderLength, ip.version == 4 else { return nil }
        let headerLength = ip.headerLength
        let checksumValid: Bool? = headerLength >= IPv4Packet.minimumHeaderLength && headerLength <= bytes.count
            ? ip.checksumIsValid() : nil
        self.init(version: 4, source: ip.source.description, destination: ip.destination.description,
                  protocol: Int(ip.protocol.rawValue), ttl: Int(ip.timeToLive),
                  dontFragment: ip.dontFragment, identification: Int(ip.identification),
                  checksumValid: checksumValid)
    }

    /// The IPv6 fixed header's fields (protocol: the next header); nil when fewer than 40 bytes or not
    /// version 6.
    init?(peekingIPv6 bytes: UnsafeRawBufferPointer) {
        let ip = IPv6Packet(unchecked: bytes)
        guard bytes.count >= IPv6Packet.headerLength, ip.version == 6 else { return nil }
        self.init(version: 6, source: ip.source.description, destination: ip.destination.description,
                  protocol: Int(ip.nextHeader.rawValue), ttl: Int(ip.hopLimit))
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

