import PacketWire

/// A Geneve tunnel endpoint (RFC 8926), the encapsulation beside VXLAN that OVN-Kubernetes, Antrea and
/// Cilium's Geneve mode use: outer Ethernet, IP, UDP (6081) and a Geneve header with options, in front of
/// an inner Ethernet frame.
///
/// Receiving checks what Linux's geneve driver checks (drivers/net/geneve.c, `geneve_udp_encap_recv` and
/// `geneve_rx`): version 0, an Ethernet payload (protocol type 0x6558; IP payloads need the device's
/// `innerprotoinherit`, which this endpoint does not have), the VNI, and, on a device that does not
/// collect metadata (`external`), no critical option: such a device understands no option, so a packet
/// with the C bit set is dropped (`rx_frame_errors`). Non-critical options are skipped.
///
/// This kernel has no Geneve (`CONFIG_GENEVE` is off), so unlike ``TunnelEndpoint`` these bytes are not
/// checked against Linux's own; they are checked against tshark's Geneve dissector.
public struct GeneveEndpoint: Sendable {
    public struct Configuration: Hashable, Sendable {
        public var vni: UInt32
        public var local: IPAddress
        public var remote: IPAddress?
        public var destinationPort: UInt16
        public var sourcePortRange: Range<UInt16>
        public var ttl: UInt8
        /// Compute the outer UDP checksum over IPv4 (`udpcsum`); over IPv6 it is always computed.
        public var udpChecksum: Bool
        /// The options sent on every packet.
        public var options: [GeneveOption]
        /// `external`: the device hands options to the stack, so critical ones are accepted.
        public var collectMetadata: Bool
        public var underlaySourceMAC: MACAddress
        public var underlayNextHopMAC: MACAddress
        public var flowHashSeed: UInt32

        public init(vni: UInt32, local: IPAddress, remote: IPAddress? = nil, destinationPort: UInt16 = GenevePacket.port,
                    sourcePortRange: Range<UInt16> = TunnelConfiguration.linuxEphemeralPorts, ttl: UInt8 = 64,
                    udpChecksum: Bool = true, options: [GeneveOption] = [], collectMetadata: Bool = false,
                    underlaySourceMAC: MACAddress = .zero, underlayNextHopMAC: MACAddress = .zero, flowHashSeed: UInt32 = 0) {
            self.vni = vni & 0xFF_FFFF
            self.local = local
            self.remote = remote
            self.destinationPort = destinationPort
            self.sourcePortRange = sourcePortRange
            self.ttl = ttl
            self.udpChecksum = udpChecksum
            self.options = options
            self.collectMetadata = collectMetadata
            self.underlaySourceMAC = underlaySourceMAC
            self.underlayNextHopMAC = underlayNextHopMAC
            self.flowHashSeed = flowHashSeed
        }

        /// The outer headers' bytes: 14 + 20 or 40 + 8 + 8 + the options.
        public var overhead: Int { 14 + (local.isIPv6 ? 40 : 20) + 8 + header.headerLength }

        var header: GeneveHeader { GeneveHeader(vni: vni, options: options) }
    }

    public var configuration: Configuration
    public var nextIdentification: UInt16

    public init(configuration: Configuration, initialIdentification: UInt16 = 0) {
        self.configuration = configuration
        self.nextIdentification = initialIdentification
    }

    /// Prepends the outer headers to the inner Ethernet frame in `buffer`.
    /// - Throws: ``EncapsulationError`` when there is no remote, the families differ or headroom is short.
    public mutating func encapsulate(_ buffer: PacketBuffer) throws(EncapsulationError) {
        guard let remote = configuration.remote else { throw .noDestination() }
        let geneve = configuration.header
        let innerLength = buffer.count
        let sourcePort = FlowHash.sourcePort(hash: FlowHash.hash(innerFrame: buffer.readableBytes, seed: configuration.flowHashSeed),
                                             range: configuration.sourcePortRange)
        let udp = UDPHeader(sourcePort: sourcePort, destinationPort: configuration.destinationPort,
                            payloadLength: geneve.headerLength + innerLength)
        let overhead = configuration.overhead
        switch (configuration.local, remote) {
        case let (.v4(local), .v4(remoteAddress)):
            guard let frame = buffer.prepend(overhead) else {
                throw .insufficientHeadroom(needed: overhead, available: buffer.headroom)
            }
            geneve.emit(into: frame.slice(42..<frame.count))
            udp.emit(into: frame.slice(34..<frame.count),
                     checksum: configuration.udpChecksum ? .ipv4(source: local, destination: remoteAddress) : nil)
            IPv4Header(identification: nextIdentification, timeToLive: configuration.ttl, protocol: .udp, source: local,
                       destination: remoteAddress, payloadLength: udp.length).emit(into: frame.slice(14..<34))
            nextIdentification &+= 1
            EthernetHeader(destination: configuration.underlayNextHopMAC, source: configuration.underlaySourceMAC, etherType: .ipv4)
                .emit(into: frame.slice(0..<14))
        case let (.v6(local), .v6(remoteAddress)):
            guard let frame = buffer.prepend(overhead) else {
                throw .insufficientHeadroom(needed: overhead, available: buffer.headroom)
            }
            geneve.emit(into: frame.slice(62..<frame.count))
            udp.emit(into: frame.slice(54..<frame.count), checksum: .ipv6(source: local, destination: remoteAddress))
            IPv6Header(payloadLength: udp.length, nextHeader: .udp, hopLimit: configuration.ttl, source: local,
                       destination: remoteAddress).emit(into: frame.slice(14..<54))
            EthernetHeader(destination: configuration.underlayNextHopMAC, source: configuration.underlaySourceMAC, etherType: .ipv6)
                .emit(into: frame.slice(0..<14))
        default:
            throw .addressFamilyMismatch(local: configuration.local, remote: remote)
        }
    }

    /// What a received packet carried.
    public struct Received: Hashable, Sendable {
        public var vni: UInt32
        public var options: [GeneveOption]
        public var outerSource: IPAddress
        public var headerLength: Int
    }

    /// Checks the outer headers as Linux's geneve driver does and removes them, leaving the inner frame.
    /// The buffer is unchanged on failure.
    /// - Throws: ``DecapsulationError``: `notIP`, `notUDP`, `fragment`, `wrongPort`, `malformed` (lengths,
    ///   checksums, version), `unknownVNI`, `reservedBits` for a critical option on a device without
    ///   `external` or a payload that is not Ethernet.
    public func decapsulate(_ buffer: PacketBuffer) throws(DecapsulationError) -> Received {
        let frame = buffer.readableBytes
        let ethernet: EthernetFrame
        do { ethernet = try EthernetFrame(checking: frame) } catch { throw .malformed(error) }
        let udpBytes: UnsafeRawBufferPointer
        let udpOffset: Int
        let pseudoHeader: PseudoHeader
        let outerSource: IPAddress
        switch ethernet.etherType {
        case .ipv4:
            let ip: IPv4Packet
            do {
                ip = try IPv4Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset)
                _ = try IPv4Header(ip)
            } catch { throw .malformed(error) }
            guard !ip.isFragment else { throw .fragment(offset: ip.fragmentOffset, more: ip.moreFragments) }
            guard ip.protocol == .udp else { throw .notUDP(ip.protocol) }
            (udpBytes, udpOffset) = (ip.payload, ip.payloadOffset)
            pseudoHeader = .ipv4(source: ip.source, destination: ip.destination)
            outerSource = .v4(ip.source)
        case .ipv6:
            let ip: IPv6Packet
            let upper: IPv6Packet.UpperLayer
            do {
                ip = try IPv6Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset)
                upper = try ip.upperLayer()
            } catch { throw .malformed(error) }
            if let fragment = upper.fragment { throw .fragment(offset: fragment.fragmentOffset, more: fragment.moreFragments) }
            guard upper.protocol == .udp else { throw .notUDP(upper.protocol) }
            (udpBytes, udpOffset) = (ip.payload.dropFirst(count: upper.offset), ip.payloadOffset + upper.offset)
            pseudoHeader = .ipv6(source: ip.source, destination: ip.destination)
            outerSource = .v6(ip.source)
        default:
            throw .notIP(ethernet.etherType)
        }
        let udp: UDPDatagram
        do { udp = try UDPDatagram(checking: udpBytes, frameOffset: udpOffset) } catch { throw .malformed(error) }
        guard udp.destinationPort == configuration.destinationPort else {
            throw .wrongPort(found: udp.destinationPort, expected: configuration.destinationPort)
        }
        if udp.checksum == 0 {
            if case .ipv6 = pseudoHeader { throw .zeroChecksumOverIPv6() }
        } else if !udp.checksumIsValid(pseudoHeader) {
            throw .malformed(.badChecksum(.udp, offset: udp.frameOffset + 6, expected: udp.expectedChecksum(pseudoHeader), found: udp.checksum))
        }
        let packet: GenevePacket
        let header: GeneveHeader
        do {
            packet = try GenevePacket(checking: udp.payload, frameOffset: udp.payloadOffset)
            header = try GeneveHeader(packet)
        } catch { throw .malformed(error) }
        guard header.protocolType == .transparentEthernetBridging else {
            throw DecapsulationError(code: .reservedBits,
                                     reason: "Geneve protocol type \(header.protocolType) is not Ethernet (0x6558): a device without "
                                         + "innerprotoinherit drops it (geneve_udp_encap_recv)")
        }
        guard header.vni == configuration.vni else { throw .unknownVNI(header.vni, expected: configuration.vni) }
        if packet.hasCriticalOptions && !configuration.collectMetadata {
            throw DecapsulationError(code: .reservedBits,
                                     reason: "Geneve header has the C bit set (a critical option: "
                                         + header.options.filter(\.isCritical).map(\.description).joined(separator: ", ")
                                         + "): a device without external understands no option and drops it, counting rx_frame_errors (geneve_rx)")
        }
        let headerLength = packet.payloadOffset
        guard packet.payload.count >= EthernetFrame.minimumHeaderLength else {
            throw .malformed(.truncated(.ethernet, offset: headerLength, needed: EthernetFrame.minimumHeaderLength,
                                        available: packet.payload.count))
        }
        buffer.truncate(to: headerLength + packet.payload.count)
        buffer.removeFront(headerLength)
        return Received(vni: header.vni, options: header.options, outerSource: outerSource, headerLength: headerLength)
    }
}
