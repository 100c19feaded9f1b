import PacketWire
import Testing

@Suite("IPv6 Fragment header (RFC 8200 §4.5)")
struct IPv6FragmentTests {
    /// Linux 6.18 fragmenting a 1308-byte ICMPv6 echo request (`ping -6 -s 1300`) for a 1280-byte veth MTU,
    /// captured with tcpdump on the peer (checksum offload off): the last fragment, whole, at offset 1232.
    /// tshark: `ipv6.fragment.offset` 1232, `more` 0, `id` 0x94a49175, `nxt` 58.
    static let lastFragmentFrame: [UInt8] = hexBytes("""
        02 00 00 00 0b 01 02 00 00 00 0a 01 86 dd 60 03 82 ad 00 54 2c 40 20 01 0d b8 00 77 00 00 00 00
        00 00 00 00 00 01 20 01 0d b8 00 77 00 00 00 00 00 00 00 00 00 02 3a 00 04 d0 94 a4 91 75 c8 c9
        ca cb cc cd ce cf d0 d1 d2 d3 d4 d5 d6 d7 d8 d9 da db dc dd de df e0 e1 e2 e3 e4 e5 e6 e7 e8 e9
        ea eb ec ed ee ef f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe ff 00 01 02 03 04 05 06 07 08 09
        0a 0b 0c 0d 0e 0f 10 11 12 13
        """)
    /// The first fragment's header from the same capture (its frame is 1294 bytes): offset 0, M set.
    static let firstFragmentHeader: [UInt8] = hexBytes("3a 00 00 01 94 a4 91 75")

    static let last = IPv6FragmentHeader(nextHeader: .icmpv6, fragmentOffset: 1232, moreFragments: false,
                                         identification: 0x94a4_9175)
    static let first = IPv6FragmentHeader(nextHeader: .icmpv6, fragmentOffset: 0, moreFragments: true,
                                          identification: 0x94a4_9175)

    @Test func deconstruct() throws {
        #expect(Self.lastFragmentFrame.count == 138)
        try decoding(Self.lastFragmentFrame, from: 54) { bytes in
            let packet = try IPv6FragmentPacket(checking: bytes, frameOffset: 54)
            #expect(packet.nextHeader == .icmpv6)
            #expect(packet.reserved == 0)
            #expect(packet.fragmentOffset == 1232)
            #expect(packet.reservedBits == 0)
            #expect(!packet.moreFragments)
            #expect(packet.identification == 0x94a4_9175)
            #expect(packet.payload.count == 138 - 62)
            #expect(packet.payloadOffset == 62)
            #expect(IPv6FragmentHeader(packet) == Self.last)
        }
        let first = try decoding(Self.firstFragmentHeader) { IPv6FragmentHeader(try IPv6FragmentPacket(checking: $0)) }
        #expect(first == Self.first)
    }

    @Test func construct() {
        #expect(emitted(8) { Self.last.emit(into: $0) } == Array(Self.lastFragmentFrame[54..<62]))
        #expect(emitted(8) { Self.first.emit(into: $0) } == Self.firstFragmentHeader)
    }

    /// The walk over the extension headers finds the same header and stops at a later fragment.
    @Test func walkFindsIt() throws {
        let upper = try decoding(Self.lastFragmentFrame, from: 14) { bytes in
            try IPv6Packet(checking: bytes, frameOffset: 14).upperLayer()
        }
        #expect(upper.fragment == Self.last)
        #expect(upper.protocol == .icmpv6)
        #expect(upper.offset == 8)
    }

    /// Reserved fields are sent as zero and ignored on receipt; a decoder keeps what it saw, and emitting
    /// the value gives the bytes back.
    @Test func reservedFieldsRoundTrip() throws {
        var random = SplitMix64(seed: 8200_45)
        for _ in 0..<1_000 {
            let bytes = random.bytes(8)
            let header = try decoding(bytes) { IPv6FragmentHeader(try IPv6FragmentPacket(checking: $0)) }
            #expect(emitted(8) { header.emit(into: $0) } == bytes)
        }
    }

    @Test func truncation() {
        for length in 0..<8 {
            expectDecodeError(.truncated, .ipv6, at: 54) {
                _ = try decoding(Array(Self.lastFragmentFrame[..<(54 + length)]), from: 54) { bytes in
                    try IPv6FragmentPacket(checking: bytes, frameOffset: 54)
                }
            }
        }
    }

    @Test func description() {
        #expect(Self.first.description == "IPv6 fragment id 0x94a49175 off 0+ next ICMPv6")
        #expect(Self.last.description == "IPv6 fragment id 0x94a49175 off 1232 next ICMPv6")
    }
}
