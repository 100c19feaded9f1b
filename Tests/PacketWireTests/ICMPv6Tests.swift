import PacketWire
import Testing

@Suite("ICMPv6 (RFC 4443)")
struct ICMPv6Tests {
    static let nodeA = IPv6Address("2001:db8:77::1")!
    static let nodeB = IPv6Address("2001:db8:77::2")!
    static let router = IPv6Address("2001:db8:77::fe")!

    /// Real ICMPv6 messages with tshark's values (`icmpv6.type`, `icmpv6.code`, `icmpv6.checksum`,
    /// `icmpv6.mtu`, `icmpv6.nd.na.flag`), where each starts in its frame, and its pseudo-header.
    static let cases: [(name: String, frame: @Sendable () throws -> [UInt8], offset: Int, checksum: UInt16,
                        pseudoHeader: PseudoHeader, header: ICMPv6Header)] = [
        ("odd #12: packet too big, MTU 1280", { try CapturedFrame.odd(12) }, 54, 0xdbf0,
         .ipv6(source: router, destination: nodeA), ICMPv6Header(.packetTooBig(mtu: 1280), payloadLength: 64)),
        ("v6-underlay #5: neighbor solicitation", { try CapturedFrame.kernel("v6-underlay", 5) }, 54, 0x1139,
         .ipv6(source: nodeA, destination: IPv6Address("ff02::1:ff00:2")!),
         ICMPv6Header(.other(type: .neighborSolicitation, code: 0, restOfHeader: 0), payloadLength: 24)),
        ("v6-underlay #6: neighbor advertisement, solicited + override", { try CapturedFrame.kernel("v6-underlay", 6) },
         54, 0x7e0d, .ipv6(source: nodeB, destination: nodeA),
         ICMPv6Header(.other(type: .neighborAdvertisement, code: 0, restOfHeader: 0x6000_0000), payloadLength: 24)),
        ("flannel-v4 #1: duplicate address detection from ::", { try CapturedFrame.kernel("flannel-v4", 1) }, 54,
         0xe33b, .ipv6(source: IPv6Address("::")!, destination: IPv6Address("ff02::1:ff00:b01")!),
         ICMPv6Header(.other(type: .neighborSolicitation, code: 0, restOfHeader: 0), payloadLength: 24)),
        ("v6-underlay #3: MLDv2 report after a hop-by-hop header", { try CapturedFrame.kernel("v6-underlay", 3) }, 62,
         0x59eb, .ipv6(source: IPv6Address("fe80::ff:fe00:b01")!, destination: IPv6Address("ff02::16")!),
         ICMPv6Header(.other(type: .multicastListenerReportV2, code: 0, restOfHeader: 2), payloadLength: 40)),
    ]

    @Test(arguments: 0..<cases.count)
    func deconstruct(index: Int) throws {
        let (name, load, offset, checksum, pseudoHeader, expected) = Self.cases[index]
        let frame = try load()
        #expect(frame.count == offset + expected.length, "\(name)")
        try decoding(frame, from: offset) { bytes in
            let message = try ICMPv6Message(checking: bytes, frameOffset: offset)
            #expect(message.type == expected.type, "\(name)")
            #expect(message.code == expected.code)
            #expect(message.checksum == checksum)
            #expect(message.restOfHeader == expected.restOfHeader)
            #expect(message.checksumIsValid(pseudoHeader))
            #expect(message.expectedChecksum(pseudoHeader) == checksum)
            #expect(message.payload.count == expected.payloadLength)
            #expect(message.payloadOffset == offset + 8)
            #expect((message.invokingPacket != nil) == expected.type.isError)
            #expect(try ICMPv6Header(message, verifyingWith: pseudoHeader) == expected)
        }
    }

    @Test(arguments: 0..<cases.count)
    func construct(index: Int) throws {
        let (name, load, offset, _, pseudoHeader, header) = Self.cases[index]
        let original = Array(try load()[offset...])
        var bytes = original
        bytes.replaceSubrange(0..<8, with: [UInt8](repeating: 0xa5, count: 8))
        bytes.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
        #expect(bytes == original, "\(name)")
    }

    @Test(arguments: 0..<cases.count)
    func roundTrip(index: Int) throws {
        let (_, load, offset, _, pseudoHeader, _) = Self.cases[index]
        let original = Array(try load()[offset...])
        let header = try decoding(original) { bytes in
            try ICMPv6Header(try ICMPv6Message(checking: bytes), verifyingWith: pseudoHeader)
        }
        var bytes = original
        bytes.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
        #expect(bytes == original)
    }

    /// The quoted packet of odd #12 is the start of the IPv6/UDP/VXLAN packet that did not fit.
    @Test func invokingPacket() throws {
        let frame = try CapturedFrame.odd(12)
        try decoding(frame, from: 54) { bytes in
            let message = try ICMPv6Message(checking: bytes, frameOffset: 54)
            guard let quoted = message.invokingPacket else {
                Issue.record("an error message without its invoking packet")
                return
            }
            #expect(Array(quoted) == Array(frame[62...]))
            #expect(quoted.count == 64)
            #expect(quoted.getInteger(at: 0, as: UInt8.self) >> 4 == 6)
            #expect(quoted.getInteger(at: 4, as: UInt16.self) == 1414)
            #expect(quoted.getInteger(at: 6, as: UInt8.self) == 17)
            #expect(quoted.getInteger(at: 42, as: UInt16.self) == 4789)
        }
    }

    /// Echo has no capture among the fixtures: the checksum is checked against the naive reference over
    /// a hand-built RFC 8200 §8.1 pseudo-header (addresses, 32-bit length, three zeros, next header 58).
    @Test(arguments: [true, false])
    func echo(request: Bool) throws {
        let data: [UInt8] = Array(0..<56)
        let kind: ICMPv6Header.Kind = request ? .echoRequest(identifier: 0x10b8, sequenceNumber: 3)
                                              : .echoReply(identifier: 0x10b8, sequenceNumber: 3)
        let header = ICMPv6Header(kind, payloadLength: data.count)
        var bytes = [UInt8](repeating: 0xa5, count: 8) + data
        let pseudoHeader = PseudoHeader.ipv6(source: Self.nodeA, destination: Self.nodeB)
        bytes.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
        #expect(Array(bytes[0..<2]) == [request ? 128 : 129, 0])
        #expect(Array(bytes[4..<8]) == [0x10, 0xb8, 0x00, 0x03])

        let pseudo = hexBytes("""
            20 01 0d b8 00 77 00 00 00 00 00 00 00 00 00 01
            20 01 0d b8 00 77 00 00 00 00 00 00 00 00 00 02
            00 00 00 40 00 00 00 3a
            """)
        let unchecked = patched(bytes, at: 2, with: [0, 0])
        #expect(UInt16(bytes[2]) << 8 | UInt16(bytes[3]) == referenceChecksum(pseudo + unchecked))
        #expect(try decoding(bytes) { bytes in
            try ICMPv6Header(try ICMPv6Message(checking: bytes), verifyingWith: pseudoHeader)
        } == header)
    }

    @Test func truncation() throws {
        let frame = try CapturedFrame.odd(12)
        for length in 54..<62 {
            expectDecodeError(.truncated, .icmpv6, at: 54) {
                _ = try decoding(Array(frame[..<length]), from: 54) { bytes in
                    try ICMPv6Message(checking: bytes, frameOffset: 54)
                }
            }
        }
    }

    @Test func badChecksum() throws {
        let frame = patched(try CapturedFrame.odd(12), at: 56, with: [0x00, 0x00])
        let pseudoHeader = PseudoHeader.ipv6(source: Self.router, destination: Self.nodeA)
        do {
            _ = try decoding(frame, from: 54) { bytes in
                try ICMPv6Header(try ICMPv6Message(checking: bytes, frameOffset: 54), verifyingWith: pseudoHeader)
            }
            Issue.record("a bad ICMPv6 checksum was accepted")
        } catch let error as DecodeError {
            #expect(error.code == .badChecksum)
            #expect(error.layer == .icmpv6)
            #expect(error.offset == 56)
            #expect(error.expected == "0xdbf0")
            #expect(error.found == "0x0000")
        }
        // The pseudo-header is covered: the same message to another address does not verify.
        expectDecodeError(.badChecksum, .icmpv6, at: 56) {
            _ = try decoding(try CapturedFrame.odd(12), from: 54) { bytes in
                try ICMPv6Header(try ICMPv6Message(checking: bytes, frameOffset: 54),
                                 verifyingWith: .ipv6(source: Self.router, destination: Self.nodeB))
            }
        }
    }

    /// RFC 4443 §3.2: a packet too big's code is set to zero and ignored by the receiver; §3.1 and §3.3:
    /// the unused word of the other errors is ignored too.
    @Test func ignoredFieldsOfErrors() throws {
        let pseudoHeader = PseudoHeader.ipv6(source: Self.router, destination: Self.nodeA)
        func parse(_ type: UInt8, _ code: UInt8, _ rest: [UInt8]) throws -> ICMPv6Header {
            var bytes = [type, code, 0, 0] + rest
            let sum = bytes.withUnsafeBytes { pseudoHeader.checksum(of: $0, protocol: .icmpv6) }
            bytes[2] = UInt8(sum >> 8)
            bytes[3] = UInt8(sum & 0xff)
            return try decoding(bytes) { bytes in
                try ICMPv6Header(try ICMPv6Message(checking: bytes), verifyingWith: pseudoHeader)
            }
        }
        #expect(try parse(2, 7, [0, 0, 5, 0]).kind == .packetTooBig(mtu: 1280))
        #expect(try parse(1, 4, [1, 2, 3, 4]).kind == .destinationUnreachable(.portUnreachable))
        #expect(try parse(3, 0, [1, 2, 3, 4]).kind == .timeExceeded(.hopLimitExceeded))
        #expect(try parse(4, 0, [0, 0, 0, 40]).kind == .other(type: .parameterProblem, code: 0, restOfHeader: 40))
    }

    @Test func descriptions() {
        #expect(Self.cases[0].header.description == "ICMPv6 packet too big, mtu 1280 len 72")
        #expect(Self.cases[1].header.description == "ICMPv6 neighbor solicitation type 135 code 0 len 32")
        #expect(ICMPv6Type.echoReply.description == "echo reply - 129")
    }
}
