import PacketWire
import Testing

@Suite("TCP (RFC 9293 §3.1)")
struct TCPTests {
    static let podA = IPv4Address(10, 244, 0, 5)
    static let podB = IPv4Address(10, 244, 1, 7)
    static let aToB = PseudoHeader.ipv4(source: podA, destination: podB)
    static let bToA = PseudoHeader.ipv4(source: podB, destination: podA)

    /// odd.pcap frame 9 from byte 34: a SYN 10.244.0.5:40000 -> 10.244.1.7:8080 with MSS 1460,
    /// SACK-permitted, timestamps 123456789/0, NOP, window scale 7 (data offset 10).
    static let synBytes: [UInt8] = [
        0x9c, 0x40, 0x1f, 0x90, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
        0xa1, 0xd4, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x07, 0x5b, 0xcd, 0x15,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ]
    static let syn = TCPHeader(
        sourcePort: 40000, destinationPort: 8080, sequenceNumber: 0x0102_0304, flags: .syn, window: 64240,
        options: [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 123_456_789, echoReply: 0),
                  .noOperation, .windowScale(7)])

    /// Real segments with tshark's values (`tcp.srcport`, `tcp.dstport`, `tcp.seq_raw`, `tcp.ack_raw`,
    /// `tcp.hdr_len`, `tcp.flags`, `tcp.window_size_value`, `tcp.checksum`, `tcp.options`, `tcp.len`):
    /// where each starts in its frame, its pseudo-header and its checksum.
    static let cases: [(name: String, frame: @Sendable () throws -> [UInt8], offset: Int,
                        pseudoHeader: PseudoHeader, checksum: UInt16, header: TCPHeader)] = [
        ("odd #9: SYN", { try CapturedFrame.odd(9) }, 34, aToB, 0xa1d4, syn),
        ("flannel-v4 #15: SYN inside VXLAN", { try CapturedFrame.kernel("flannel-v4", 15) }, 84, aToB, 0xe84a,
         TCPHeader(sourcePort: 52222, destinationPort: 8080, sequenceNumber: 1_186_393_329, flags: .syn, window: 64240,
                   options: [.maximumSegmentSize(1460), .sackPermitted,
                             .timestamps(value: 591_006_557, echoReply: 0), .noOperation, .windowScale(10)])),
        ("flannel-v4 #16: SYN-ACK", { try CapturedFrame.kernel("flannel-v4", 16) }, 84, bToA, 0x8abd,
         TCPHeader(sourcePort: 8080, destinationPort: 52222, sequenceNumber: 2_130_028_165,
                   acknowledgmentNumber: 1_186_393_330, flags: [.syn, .ack], window: 65160,
                   options: [.maximumSegmentSize(1460), .sackPermitted,
                             .timestamps(value: 2_984_673_922, echoReply: 591_006_557), .noOperation,
                             .windowScale(10)])),
        ("flannel-v4 #18: PSH-ACK with 26 bytes", { try CapturedFrame.kernel("flannel-v4", 18) }, 84, aToB, 0x004a,
         TCPHeader(sourcePort: 52222, destinationPort: 8080, sequenceNumber: 1_186_393_330,
                   acknowledgmentNumber: 2_130_028_166, flags: [.psh, .ack], window: 63,
                   options: [.noOperation, .noOperation, .timestamps(value: 591_006_557, echoReply: 2_984_673_922)],
                   payloadLength: 26)),
        ("flannel-v4 #20: FIN-ACK", { try CapturedFrame.kernel("flannel-v4", 20) }, 84, aToB, 0xb7bb,
         TCPHeader(sourcePort: 52222, destinationPort: 8080, sequenceNumber: 1_186_393_356,
                   acknowledgmentNumber: 2_130_028_166, flags: [.fin, .ack], window: 63,
                   options: [.noOperation, .noOperation, .timestamps(value: 591_006_557, echoReply: 2_984_673_922)])),
        ("v6-underlay #16: SYN under an IPv6 underlay", { try CapturedFrame.kernel("v6-underlay", 16) }, 104, aToB,
         0x3ae5,
         TCPHeader(sourcePort: 35410, destinationPort: 8080, sequenceNumber: 3_661_993_644, flags: .syn, window: 64240,
                   options: [.maximumSegmentSize(1460), .sackPermitted,
                             .timestamps(value: 0xef81_f0dc, echoReply: 0), .noOperation, .windowScale(10)])),
    ]

    @Test func literalIsTheCapturedSegment() throws {
        #expect(Array(try CapturedFrame.odd(9)[34...]) == Self.synBytes)
    }

    @Test(arguments: 0..<cases.count)
    func deconstruct(index: Int) throws {
        let (name, load, offset, pseudoHeader, checksum, expected) = Self.cases[index]
        let frame = try load()
        let end = offset + expected.length
        try decoding(Array(frame[..<end]), from: offset) { bytes in
            let segment = try TCPSegment(checking: bytes, frameOffset: offset)
            #expect(segment.sourcePort == expected.sourcePort, "\(name)")
            #expect(segment.destinationPort == expected.destinationPort)
            #expect(segment.sequenceNumber == expected.sequenceNumber)
            #expect(segment.acknowledgmentNumber == expected.acknowledgmentNumber)
            #expect(segment.headerLength == expected.headerLength)
            #expect(segment.reservedBits == 0)
            #expect(segment.flags == expected.flags)
            #expect(segment.window == expected.window)
            #expect(segment.checksum == checksum)
            #expect(segment.urgentPointer == 0)
            #expect(segment.checksumIsValid(pseudoHeader))
            #expect(segment.expectedChecksum(pseudoHeader) == checksum)
            #expect(try segment.options() == expected.options)
            #expect(segment.payload.count == expected.payloadLength)
            #expect(segment.payloadOffset == offset + expected.headerLength)
            #expect(try TCPHeader(segment, verifyingWith: pseudoHeader) == expected)
        }
    }

    @Test(arguments: 0..<cases.count)
    func construct(index: Int) throws {
        let (name, load, offset, pseudoHeader, _, header) = Self.cases[index]
        let original = Array(try load()[offset..<(offset + header.length)])
        var bytes = original
        bytes.replaceSubrange(0..<header.headerLength, with: [UInt8](repeating: 0xa5, count: header.headerLength))
        bytes.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
        #expect(bytes == original, "\(name)")
    }

    @Test(arguments: 0..<cases.count)
    func roundTrip(index: Int) throws {
        let (_, load, offset, pseudoHeader, _, expected) = Self.cases[index]
        let original = Array(try load()[offset..<(offset + expected.length)])
        let header = try decoding(original) { bytes in
            try TCPHeader(try TCPSegment(checking: bytes), verifyingWith: pseudoHeader)
        }
        var bytes = original
        bytes.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
        #expect(bytes == original)
    }

    /// Cut inside the fixed header: the segment's start; cut inside the options: the data offset field.
    @Test func truncation() {
        for length in 0..<20 {
            expectDecodeError(.truncated, .tcp, at: 34) {
                _ = try decoding(Array(Self.synBytes[..<length])) { bytes in
                    try TCPSegment(checking: bytes, frameOffset: 34)
                }
            }
        }
        for length in 20..<40 {
            expectDecodeError(.truncated, .tcp, at: 46) {
                _ = try decoding(Array(Self.synBytes[..<length])) { bytes in
                    try TCPSegment(checking: bytes, frameOffset: 34)
                }
            }
        }
    }

    @Test func badChecksum() throws {
        let bytes = patched(Self.synBytes, at: 16, with: [0x12, 0x34])
        do {
            _ = try decoding(bytes) { bytes in
                try TCPHeader(try TCPSegment(checking: bytes, frameOffset: 34), verifyingWith: Self.aToB)
            }
            Issue.record("a bad TCP checksum was accepted")
        } catch let error as DecodeError {
            #expect(error.code == .badChecksum)
            #expect(error.layer == .tcp)
            #expect(error.offset == 50)
            #expect(error.expected == "0xa1d4")
            #expect(error.found == "0x1234")
        }
        // The pseudo-header's addresses are covered: the same segment to another pod does not verify.
        let elsewhere = PseudoHeader.ipv4(source: Self.podA, destination: IPv4Address(10, 244, 1, 8))
        expectDecodeError(.badChecksum, .tcp, at: 50) {
            _ = try decoding(Self.synBytes) { bytes in
                try TCPHeader(try TCPSegment(checking: bytes, frameOffset: 34), verifyingWith: elsewhere)
            }
        }
        // Without a pseudo-header the checksum is not checked.
        let header = try decoding(bytes) { bytes in try TCPHeader(try TCPSegment(checking: bytes)) }
        #expect(header == Self.syn)
    }

    @Test func dataOffsetBelowFive() {
        expectDecodeError(.badLength, .tcp, at: 46) {
            _ = try decoding(patched(Self.synBytes, at: 12, with: [0x40])) { bytes in
                try TCPSegment(checking: bytes, frameOffset: 34)
            }
        }
    }

    /// Malformed option lists, each in a 24-byte header (one option word): the error names the byte.
    @Test(arguments: [
        ([UInt8(0x01), 0x01, 0x01, 0x02], 23),   // MSS kind in the last byte, no length byte
        ([0x02, 0x05, 0x05, 0xb4], 21),          // length 5 runs past the header
        ([0x02, 0x03, 0x05, 0x01], 21),          // MSS must be length 4
        ([0x01, 0x03, 0x02, 0x07], 22),          // window scale must be length 3
        ([0x1e, 0x01, 0x00, 0x00], 21),          // length 1 is below the minimum of 2
        ([0x04, 0x03, 0x00, 0x01], 21),          // SACK-permitted must be length 2
        ([0x05, 0x04, 0x00, 0x00], 21),          // SACK needs at least one 8-byte block
    ])
    func malformedOptions(options: [UInt8], offset: Int) {
        let header = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, flags: .syn, window: 4)
        var bytes = emitted(24) { header.emit(into: $0, checksum: Self.aToB) }
        bytes[12] = 0x60
        bytes.replaceSubrange(20..<24, with: options)
        expectDecodeError(.badLength, .tcp, at: offset) {
            _ = try decoding(bytes) { bytes in try TCPHeader(try TCPSegment(checking: bytes)) }
        }
    }

    /// RFC 2018 §3 as Linux sends it: NOP, NOP, SACK with two blocks, after the timestamps.
    @Test func selectiveAcknowledgmentBlocks() throws {
        let header = TCPHeader(
            sourcePort: 8080, destinationPort: 52222, sequenceNumber: 1000, acknowledgmentNumber: 2000,
            flags: .ack, window: 502,
            options: [.noOperation, .noOperation, .timestamps(value: 7, echoReply: 8), .noOperation, .noOperation,
                      .selectiveAcknowledgment([TCPSACKBlock(leftEdge: 3000, rightEdge: 4000),
                                                TCPSACKBlock(leftEdge: 5000, rightEdge: 6000)])])
        #expect(header.headerLength == 52)
        let bytes = emitted(header.length) { header.emit(into: $0, checksum: Self.bToA) }
        #expect(Array(bytes[32..<52]) == hexBytes("01 01 05 12 00 00 0b b8 00 00 0f a0 00 00 13 88 00 00 17 70"))
        #expect(bytes[12] == 0xd0)
        let parsed = try decoding(bytes) { bytes in
            try TCPHeader(try TCPSegment(checking: bytes), verifyingWith: Self.bToA)
        }
        #expect(parsed == header)
        #expect(parsed.description
            == "TCP 8080 > 52222 [ACK] seq 1000 ack 2000 win 502 "
            + "[nop,nop,TS val 7 ecr 8,nop,nop,sack 2 {3000:4000 5000:6000}] len 0")
    }

    /// Kinds this decoder does not model (here MPTCP, 30, and TCP Fast Open, 34) are kept with their data.
    @Test func unknownOptionsAreKept() throws {
        let header = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, flags: .syn, window: 4,
                               options: [.unknown(kind: 30, data: [0x00, 0x81]), .unknown(kind: 34, data: []),
                                         .noOperation, .noOperation])
        let bytes = emitted(header.length) { header.emit(into: $0, checksum: Self.aToB) }
        #expect(Array(bytes[20..<28]) == [0x1e, 0x04, 0x00, 0x81, 0x22, 0x02, 0x01, 0x01])
        #expect(try decoding(bytes) { bytes in try TCPHeader(try TCPSegment(checking: bytes)) } == header)
    }

    /// Options are padded with zeros to 32 bits (RFC 9293 §3.1); the padding reads as End of Option List,
    /// and whatever follows an End of Option List is padding, not parsed.
    @Test func paddingAndEndOfOptionList() throws {
        let scale = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, flags: .syn, window: 4,
                              options: [.windowScale(14)])
        #expect(scale.headerLength == 24)
        let padded = emitted(24) { scale.emit(into: $0, checksum: Self.aToB) }
        #expect(Array(padded[20..<24]) == [0x03, 0x03, 0x0e, 0x00])
        #expect(try decoding(padded) { bytes in try TCPSegment(checking: bytes).options() }
            == [.windowScale(14), .endOfOptionList])

        let ended = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, flags: .syn, window: 4,
                              options: [.maximumSegmentSize(1460), .endOfOptionList])
        #expect(ended.headerLength == 28)
        var bytes = emitted(28) { ended.emit(into: $0, checksum: Self.aToB) }
        #expect(Array(bytes[20..<28]) == [0x02, 0x04, 0x05, 0xb4, 0x00, 0x00, 0x00, 0x00])
        bytes[25] = 0xff
        bytes[27] = 0x02
        #expect(try decoding(bytes) { bytes in try TCPSegment(checking: bytes).options() }
            == [.maximumSegmentSize(1460), .endOfOptionList])
    }

    @Test func reservedBitsAndUrgentPointerAreKept() throws {
        let header = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, flags: [.urg, .ack, .ece, .cwr],
                               reservedBits: 0x5, window: 4, urgentPointer: 0x1234)
        let bytes = emitted(20) { header.emit(into: $0, checksum: Self.aToB) }
        #expect(Array(bytes[12..<14]) == [0x55, 0xf0])
        #expect(Array(bytes[18..<20]) == [0x12, 0x34])
        #expect(try decoding(bytes) { bytes in
            try TCPHeader(try TCPSegment(checking: bytes), verifyingWith: Self.aToB)
        } == header)
    }

    @Test func descriptions() {
        #expect(TCPFlags([.fin, .ack]).description == "[FIN, ACK]")
        #expect(TCPFlags().description == "[]")
        #expect(Self.syn.description
            == "TCP 40000 > 8080 [SYN] seq 16909060 win 64240 "
            + "[mss 1460,sackOK,TS val 123456789 ecr 0,nop,wscale 7] len 0")
    }
}
