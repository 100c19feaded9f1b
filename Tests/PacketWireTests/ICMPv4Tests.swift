import PacketWire
import Testing

@Suite("ICMPv4 (RFC 792, RFC 1191)")
struct ICMPv4Tests {
    /// odd.pcap frame 10 from byte 34: fragmentation needed, next-hop MTU 1400, quoting the IPv4 header
    /// (total length 1450, DF, TTL 63) and UDP header 50000 -> 4789 of a VXLAN packet.
    static let fragmentationNeededBytes: [UInt8] = hexBytes("""
        03 04 b3 2f 00 00 05 78
        45 00 05 aa 0a 0a 40 00 3f 11 a8 35 c0 00 02 01 c0 00 02 02
        c3 50 12 b5 05 96 68 b8
        """)

    /// Real ICMP messages with tshark's values (`icmp.type`, `icmp.code`, `icmp.checksum`, `icmp.ident`,
    /// `icmp.seq`, `icmp.mtu`) and where each starts in its frame.
    static let cases: [(name: String, frame: @Sendable () throws -> [UInt8], offset: Int, checksum: UInt16,
                        header: ICMPv4Header)] = [
        ("odd #10: fragmentation needed, MTU 1400", { try CapturedFrame.odd(10) }, 34, 0xb32f,
         ICMPv4Header(.destinationUnreachable(.fragmentationNeeded, nextHopMTU: 1400), payloadLength: 28)),
        ("odd #11: TTL exceeded in transit", { try CapturedFrame.odd(11) }, 34, 0xb0ab,
         ICMPv4Header(.timeExceeded(.timeToLiveExceeded), payloadLength: 28)),
        ("flannel-v4 #9: echo request inside VXLAN", { try CapturedFrame.kernel("flannel-v4", 9) }, 84, 0x5d11,
         ICMPv4Header(.echoRequest(identifier: 7326, sequenceNumber: 1), payloadLength: 56)),
        ("flannel-v4 #10: echo reply", { try CapturedFrame.kernel("flannel-v4", 10) }, 84, 0x6511,
         ICMPv4Header(.echoReply(identifier: 7326, sequenceNumber: 1), payloadLength: 56)),
        ("flannel-v4 #13: 1400-byte echo request", { try CapturedFrame.kernel("flannel-v4", 13) }, 84, 0xc378,
         ICMPv4Header(.echoRequest(identifier: 7327, sequenceNumber: 1), payloadLength: 1372)),
    ]

    @Test func literalIsTheCapturedMessage() throws {
        #expect(Array(try CapturedFrame.odd(10)[34...]) == Self.fragmentationNeededBytes)
    }

    @Test(arguments: 0..<cases.count)
    func deconstruct(index: Int) throws {
        let (name, load, offset, checksum, expected) = Self.cases[index]
        let frame = try load()
        try decoding(frame, from: offset) { bytes in
            let message = try ICMPv4Message(checking: bytes, frameOffset: offset)
            #expect(message.type == expected.type, "\(name)")
            #expect(message.code == expected.code)
            #expect(message.checksum == checksum)
            #expect(message.restOfHeader == expected.restOfHeader)
            #expect(message.checksumIsValid())
            #expect(message.expectedChecksum() == checksum)
            #expect(message.payload.count == expected.payloadLength)
            #expect(message.payloadOffset == offset + 8)
            #expect((message.invokingPacket != nil) == expected.type.isError)
            #expect(try ICMPv4Header(message) == expected)
        }
    }

    @Test(arguments: 0..<cases.count)
    func construct(index: Int) throws {
        let (name, load, offset, _, header) = Self.cases[index]
        let original = Array(try load()[offset..<(offset + header.length)])
        var bytes = original
        bytes.replaceSubrange(0..<8, with: [UInt8](repeating: 0xa5, count: 8))
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        #expect(bytes == original, "\(name)")
    }

    @Test(arguments: 0..<cases.count)
    func roundTrip(index: Int) throws {
        let (_, load, offset, _, expected) = Self.cases[index]
        let original = Array(try load()[offset..<(offset + expected.length)])
        let header = try decoding(original) { bytes in try ICMPv4Header(try ICMPv4Message(checking: bytes)) }
        var bytes = original
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        #expect(bytes == original)
    }

    /// The quoted datagram is reachable as bytes, at its place in the frame: here the IPv4 header and UDP
    /// ports of the VXLAN packet that did not fit.
    @Test(arguments: [(10, UInt8(63)), (11, UInt8(1))])
    func invokingPacket(oddFrame: Int, quotedTTL: UInt8) throws {
        let frame = try CapturedFrame.odd(oddFrame)
        try decoding(frame, from: 34) { bytes in
            let message = try ICMPv4Message(checking: bytes, frameOffset: 34)
            guard let quoted = message.invokingPacket else {
                Issue.record("an error message without its invoking packet")
                return
            }
            #expect(Array(quoted) == Array(frame[42...]))
            #expect(message.payloadOffset == 42)
            #expect(quoted.getInteger(at: 0, as: UInt8.self) == 0x45)
            #expect(quoted.getInteger(at: 2, as: UInt16.self) == 1450)
            #expect(quoted.getInteger(at: 8, as: UInt8.self) == quotedTTL)
            #expect(IPv4Address(rawValue: quoted.getInteger(at: 16, as: UInt32.self)) == IPv4Address(192, 0, 2, 2))
            #expect(quoted.getInteger(at: 20, as: UInt16.self) == 50000)
            #expect(quoted.getInteger(at: 22, as: UInt16.self) == 4789)
        }
        // Echo messages quote nothing.
        try decoding(try CapturedFrame.kernel("flannel-v4", 9), from: 84) { bytes in
            let echo = try ICMPv4Message(checking: bytes, frameOffset: 84)
            #expect(echo.invokingPacket == nil)
        }
    }

    @Test func truncation() {
        for length in 0..<8 {
            expectDecodeError(.truncated, .icmpv4, at: 34) {
                _ = try decoding(Array(Self.fragmentationNeededBytes[..<length])) { bytes in
                    try ICMPv4Message(checking: bytes, frameOffset: 34)
                }
            }
        }
    }

    /// The checksum covers the whole message: a flipped byte in the quoted datagram fails it.
    @Test func badChecksum() throws {
        let bytes = patched(Self.fragmentationNeededBytes, at: 30, with: [0x13])
        expectDecodeError(.badChecksum, .icmpv4, at: 36) {
            _ = try decoding(bytes) { bytes in
                try ICMPv4Header(try ICMPv4Message(checking: bytes, frameOffset: 34))
            }
        }
        let wrongField = patched(Self.fragmentationNeededBytes, at: 2, with: [0xff, 0xff])
        do {
            _ = try decoding(wrongField) { bytes in
                try ICMPv4Header(try ICMPv4Message(checking: bytes, frameOffset: 34))
            }
            Issue.record("a bad ICMP checksum was accepted")
        } catch let error as DecodeError {
            #expect(error.expected == "0xb32f")
            #expect(error.found == "0xffff")
        }
    }

    /// Types this value does not model keep their code and bytes 4-7 (here a redirect's gateway).
    @Test func otherTypesAreKeptRaw() throws {
        let header = ICMPv4Header(.other(type: .redirect, code: 1, restOfHeader: 0xc000_02fe), payloadLength: 0)
        let bytes = emitted(8) { header.emit(into: $0) }
        #expect(Array(bytes[0..<2]) == [5, 1])
        #expect(Array(bytes[4..<8]) == [0xc0, 0x00, 0x02, 0xfe])
        #expect(try decoding(bytes) { bytes in try ICMPv4Header(try ICMPv4Message(checking: bytes)) } == header)
        // An echo request with a non-zero code is not an echo request RFC 792 defines: kept raw.
        let odd = patched(bytes, at: 0, with: [8, 3])
        let parsed = try decoding(odd) { bytes in
            try ICMPv4Header(try ICMPv4Message(checking: bytes), verifyingChecksum: false)
        }
        #expect(parsed.kind == .other(type: .echoRequest, code: 3, restOfHeader: 0xc000_02fe))
    }

    @Test func descriptions() {
        #expect(Self.cases[0].header.description == "ICMP destination unreachable: fragmentation needed, mtu 1400 len 36")
        #expect(Self.cases[1].header.description == "ICMP time exceeded: ttl exceeded in transit (0) len 36")
        #expect(Self.cases[2].header.description == "ICMP echo request id 7326 seq 1 len 64")
        #expect(ICMPv4Type.timeExceeded.description == "time exceeded - 11")
    }
}
