import PacketWire
import Testing

@Suite("IPv6 (RFC 8200)")
struct IPv6Tests {
    static let nodeA = IPv6Address("2001:db8:77::1")!
    static let nodeB = IPv6Address("2001:db8:77::2")!

    /// Real IPv6 headers with tshark's values (`ipv6.tclass`, `ipv6.flow`, `ipv6.plen`, `ipv6.nxt`,
    /// `ipv6.hlim`, addresses), and where the upper layer is after the extension headers.
    static let cases: [(name: String, frame: @Sendable () throws -> [UInt8], header: IPv6Header,
                        upper: IPProtocol, upperOffset: Int)] = [
        ("v6-underlay #7: VXLAN underlay", { try CapturedFrame.kernel("v6-underlay", 7) },
         IPv6Header(payloadLength: 114, nextHeader: .udp, hopLimit: 64, source: nodeA, destination: nodeB), .udp, 0),
        ("v6-underlay #6: neighbor advertisement", { try CapturedFrame.kernel("v6-underlay", 6) },
         IPv6Header(payloadLength: 32, nextHeader: .icmpv6, hopLimit: 255, source: nodeB, destination: nodeA),
         .icmpv6, 0),
        ("flannel-v4 #1: DAD neighbor solicitation from ::", { try CapturedFrame.kernel("flannel-v4", 1) },
         IPv6Header(payloadLength: 32, nextHeader: .icmpv6, hopLimit: 255, source: IPv6Address("::")!,
                    destination: IPv6Address("ff02::1:ff00:b01")!), .icmpv6, 0),
        ("odd #8: flow label, hop-by-hop, destination options", { try CapturedFrame.odd(8) },
         IPv6Header(flowLabel: 0x12345, payloadLength: 130, nextHeader: .hopByHopOptions, hopLimit: 64,
                    source: nodeA, destination: nodeB), .udp, 16),
        ("odd #12: packet too big", { try CapturedFrame.odd(12) },
         IPv6Header(payloadLength: 72, nextHeader: .icmpv6, hopLimit: 64, source: IPv6Address("2001:db8:77::fe")!,
                    destination: nodeA), .icmpv6, 0),
    ]

    @Test(arguments: 0..<cases.count)
    func deconstruct(index: Int) throws {
        let (name, load, expected, upper, upperOffset) = Self.cases[index]
        let frame = try load()
        try decoding(frame, from: 14) { bytes in
            let packet = try IPv6Packet(checking: bytes, frameOffset: 14)
            #expect(packet.trafficClass == expected.trafficClass, "\(name)")
            #expect(packet.flowLabel == expected.flowLabel)
            #expect(packet.payloadLength == expected.payloadLength)
            #expect(packet.nextHeader == expected.nextHeader)
            #expect(packet.hopLimit == expected.hopLimit)
            #expect(packet.source == expected.source)
            #expect(packet.destination == expected.destination)
            #expect(packet.payload.count == expected.payloadLength)
            #expect(packet.payloadOffset == 54)
            #expect(IPv6Header(packet) == expected)
            let upperLayer = try packet.upperLayer()
            #expect(upperLayer.protocol == upper)
            #expect(upperLayer.offset == upperOffset)
            #expect(upperLayer.fragment == nil)
        }
    }

    @Test(arguments: 0..<cases.count)
    func construct(index: Int) throws {
        let (name, load, header, _, _) = Self.cases[index]
        let frame = try load()
        let bytes = emitted(IPv6Header.headerLength) { header.emit(into: $0) }
        #expect(bytes == Array(frame[14..<54]), "\(name)")
    }

    @Test(arguments: 0..<cases.count)
    func roundTrip(index: Int) throws {
        let frame = try Self.cases[index].frame()
        let header = try decoding(frame, from: 14) { bytes in
            IPv6Header(try IPv6Packet(checking: bytes, frameOffset: 14))
        }
        #expect(emitted(40) { header.emit(into: $0) } == Array(frame[14..<54]))
    }

    @Test func trafficClassAndFlowLabelBits() throws {
        let header = IPv6Header(trafficClass: 0xb9, flowLabel: 0xfedcb, payloadLength: 0, nextHeader: .noNextHeader,
                                source: Self.nodeA, destination: Self.nodeB)
        let bytes = emitted(40) { header.emit(into: $0) }
        #expect(Array(bytes[0..<4]) == [0x6b, 0x9f, 0xed, 0xcb])
        #expect(try decoding(bytes) { bytes in IPv6Header(try IPv6Packet(checking: bytes)) } == header)
    }

    @Test func truncation() throws {
        let frame = try CapturedFrame.kernel("v6-underlay", 7)
        for length in 14..<54 {
            expectDecodeError(.truncated, .ipv6, at: 14) {
                _ = try decoding(Array(frame[..<length]), from: 14) { bytes in
                    try IPv6Packet(checking: bytes, frameOffset: 14)
                }
            }
        }
        for length in 54..<frame.count {
            expectDecodeError(.truncated, .ipv6, at: 18) {
                _ = try decoding(Array(frame[..<length]), from: 14) { bytes in
                    try IPv6Packet(checking: bytes, frameOffset: 14)
                }
            }
        }
    }

    /// odd #8 with the payload length shortened so an extension header runs past it: the error names
    /// the extension header's offset in the frame.
    @Test(arguments: [(1, 54), (4, 54), (8, 62), (12, 62)])
    func truncatedExtensionHeader(payloadLength: Int, offset: Int) throws {
        let odd = try CapturedFrame.odd(8)
        let frame = Array(patched(odd, at: 18, with: [0, UInt8(payloadLength)])[..<(54 + payloadLength)])
        expectDecodeError(.truncated, .ipv6, at: offset) {
            _ = try decoding(frame, from: 14) { bytes in
                try IPv6Packet(checking: bytes, frameOffset: 14).upperLayer()
            }
        }
    }

    @Test func badVersion() throws {
        let frame = patched(try CapturedFrame.kernel("v6-underlay", 7), at: 14, with: [0x40])
        expectDecodeError(.badVersion, .ipv6, at: 14) {
            _ = try decoding(frame, from: 14) { bytes in try IPv6Packet(checking: bytes, frameOffset: 14) }
        }
    }

    /// RFC 8200 §4.5: a first fragment still holds the upper-layer header; a later one does not.
    @Test(arguments: [(UInt16(0x0001), 0, true), (UInt16(0x0560), 1376, false)])
    func fragmentHeader(offsetAndFlags: UInt16, offset: Int, moreFragments: Bool) throws {
        let header = IPv6Header(payloadLength: 16, nextHeader: .ipv6Fragment, source: Self.nodeA, destination: Self.nodeB)
        var bytes = emitted(56) { header.emit(into: $0) }
        bytes.replaceSubrange(40..<56, with: [17, 0, UInt8(offsetAndFlags >> 8), UInt8(offsetAndFlags & 0xff),
                                              0x12, 0x34, 0x56, 0x78, 0xc3, 0x50, 0x12, 0xb5, 0x00, 0x08, 0x00, 0x00])
        let upper = try decoding(bytes) { bytes in try IPv6Packet(checking: bytes).upperLayer() }
        #expect(upper.protocol == .udp)
        #expect(upper.offset == 8)
        #expect(upper.fragment == IPv6FragmentHeader(nextHeader: .udp, fragmentOffset: offset,
                                                     moreFragments: moreFragments, identification: 0x1234_5678))
    }

    @Test func description() {
        #expect(Self.cases[0].header.description == "IPv6 2001:db8:77::1 > 2001:db8:77::2 UDP hlim 64 len 114")
    }
}
