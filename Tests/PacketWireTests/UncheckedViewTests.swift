import PacketWire
import Testing

/// The accessors added so the layers above read no byte at a literal offset: unchecked views (smoltcp's
/// `new_unchecked`) over bytes the caller measured, and the small getters and tables they lacked.
@Suite("Unchecked views and the accessors the decoders use")
struct UncheckedViewTests {
    /// A real TCP header with NS set beside SYN and ACK: data offset 8 words, byte 12 = 0x81.
    static let tcpHeader: [UInt8] = [0x1f, 0x90, 0xc3, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x01,
                                     0x81, 0x12, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00]

    @Test("an unchecked view reads what the checked one reads, for every header kind")
    func uncheckedEqualsChecked() throws {
        var random = SplitMix64(seed: 9)
        for _ in 0..<500 {
            var bytes = random.bytes(64)
            bytes[0] = 0x45
            bytes[2] = 0; bytes[3] = 64
            bytes[24] = 0; bytes[25] = 44 // the UDP length: the rest of the packet
            try bytes.withWireBytes { raw throws(DecodeError) in
                let checked = try IPv4Packet(checking: raw), unchecked = IPv4Packet(unchecked: raw)
                #expect(unchecked.version == checked.version && unchecked.headerLength == checked.headerLength
                        && unchecked.source == checked.source && unchecked.destination == checked.destination
                        && unchecked.timeToLive == checked.timeToLive && unchecked.protocol == checked.protocol
                        && unchecked.fragmentOffset == checked.fragmentOffset && unchecked.totalLength == checked.totalLength)
                let udp = try UDPDatagram(checking: raw.slice(20..<64))
                let rawUDP = UDPDatagram(unchecked: raw.slice(20..<64))
                #expect(udp.sourcePort == rawUDP.sourcePort && udp.destinationPort == rawUDP.destinationPort
                        && udp.checksum == rawUDP.checksum)
            }
        }
    }

    @Test("the TCP flag bits include NS, as tcpdump shows them; flags alone do not")
    func tcpFlagBits() {
        Self.tcpHeader.withUnsafeBytes { raw in
            let tcp = TCPSegment(unchecked: raw)
            #expect(tcp.flagBits == 0x112)
            #expect(tcp.flags == [.syn, .ack])
            #expect(tcp.headerLength == 32)
        }
    }

    @Test("IPv6's version nibble, read without the payload-length check")
    func ipv6Version() {
        var header = [UInt8](repeating: 0, count: 40)
        header[0] = 0x60
        header.withUnsafeBytes { #expect(IPv6Packet(unchecked: $0).version == 6) }
        header[0] = 0x45
        header.withUnsafeBytes { #expect(IPv6Packet(unchecked: $0).version == 4) }
    }

    @Test("extension header lengths by type: (n+1)×8, AH (n+2)×4, fragment 8, none for an upper layer")
    func extensionHeaderLengths() {
        #expect(IPv6ExtensionHeader.length(of: .hopByHopOptions, lengthField: 0) == 8)
        #expect(IPv6ExtensionHeader.length(of: .destinationOptions, lengthField: 2) == 24)
        #expect(IPv6ExtensionHeader.length(of: .ipv6Routing, lengthField: 255) == 2048)
        #expect(IPv6ExtensionHeader.length(of: .authenticationHeader, lengthField: 4) == 24)
        #expect(IPv6ExtensionHeader.length(of: .ipv6Fragment, lengthField: 99) == 8)
        #expect(IPv6ExtensionHeader.length(of: .udp, lengthField: 0) == nil)
    }

    @Test("a VLAN tag after a cooked header: TCI, then the EtherType; an untagged Ethernet view of 14 bytes")
    func vlanAndEthernet() {
        let tag: [UInt8] = [0x20, 0x64, 0x08, 0x00]
        tag.withUnsafeBytes { raw in
            #expect(raw.count == VLANTag.length)
            #expect(raw.getInteger(at: VLANTag.Field.controlInformation.lowerBound, as: UInt16.self) & 0x0FFF == 100)
            #expect(EtherType(rawValue: raw.getInteger(at: VLANTag.Field.encapsulatedEtherType.lowerBound, as: UInt16.self)) == .ipv4)
        }
        let frame: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd]
        frame.withUnsafeBytes { raw in
            let ethernet = EthernetFrame(unchecked: raw)
            #expect(ethernet.destination == MACAddress(2, 0, 0, 0, 0, 2) && ethernet.source == MACAddress(2, 0, 0, 0, 0, 1))
            #expect(ethernet.etherType == .ipv6 && ethernet.payload.isEmpty)
        }
    }

    @Test("VXLAN, VXLAN-GPE and Geneve read unchecked agree with their checked views")
    func tunnels() throws {
        let header: [UInt8] = [0x0c, 0x00, 0x00, 0x03, 0x00, 0x00, 0x2a, 0x00]
        try header.withWireBytes { raw throws(DecodeError) in
            #expect(VXLANPacket(unchecked: raw).vni == (try VXLANPacket(checking: raw)).vni)
            let gpe = VXLANGPEPacket(unchecked: raw)
            #expect(gpe.hasNextProtocol && gpe.reserved == 0 && gpe.nextProtocol == .ethernet && gpe.vni == 42)
            #expect(GenevePacket(unchecked: raw).optionsLength == 48)
        }
    }
}
