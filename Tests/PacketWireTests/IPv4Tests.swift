import PacketWire
import Testing

@Suite("IPv4 (RFC 791)")
struct IPv4Tests {
    static let nodeA = IPv4Address(192, 0, 2, 1)
    static let nodeB = IPv4Address(192, 0, 2, 2)
    static let podA = IPv4Address(10, 244, 0, 5)
    static let podB = IPv4Address(10, 244, 1, 7)

    /// Real IPv4 headers with tshark's values (`ip.len`, `ip.id`, `ip.flags`, `ip.frag_offset` × 8,
    /// `ip.ttl`, `ip.proto`, `ip.checksum`), each with where it starts in its frame.
    static let cases: [(name: String, frame: @Sendable () throws -> [UInt8], offset: Int, checksum: UInt16,
                        header: IPv4Header)] = [
        ("flannel-v4 #9 outer", { try CapturedFrame.kernel("flannel-v4", 9) }, 14, 0x05d1,
         IPv4Header(identification: 0xf092, timeToLive: 64, protocol: .udp, source: nodeA, destination: nodeB,
                    payloadLength: 114)),
        ("flannel-v4 #9 inner", { try CapturedFrame.kernel("flannel-v4", 9) }, 64, 0xb5bc,
         IPv4Header(identification: 0x6ef9, dontFragment: true, timeToLive: 63, protocol: .icmp, source: podA,
                    destination: podB, payloadLength: 64)),
        ("df-ttl #8 outer: df set, ttl 17", { try CapturedFrame.kernel("df-ttl", 8) }, 14, 0x739a,
         IPv4Header(identification: 0x71c9, dontFragment: true, timeToLive: 17, protocol: .udp, source: nodeA,
                    destination: nodeB, payloadLength: 114)),
        ("frag-v4 #11 first fragment", { try CapturedFrame.kernel("frag-v4", 11) }, 14, 0xc7f3,
         IPv4Header(identification: 0x0982, moreFragments: true, timeToLive: 64, protocol: .udp, source: nodeA,
                    destination: nodeB, payloadLength: 1376)),
        ("frag-v4 #12 last fragment at 1376", { try CapturedFrame.kernel("frag-v4", 12) }, 14, 0xec71,
         IPv4Header(identification: 0x0982, fragmentOffset: 1376, timeToLive: 64, protocol: .udp, source: nodeA,
                    destination: nodeB, payloadLength: 54)),
        ("odd #4: IHL 6, Router Alert", { try CapturedFrame.odd(4) }, 14, 0x6157,
         IPv4Header(identification: 0x0004, timeToLive: 64, protocol: .udp, source: nodeA, destination: nodeB,
                    options: [0x94, 0x04, 0x00, 0x00], payloadLength: 114)),
        ("odd #10: ICMP from a router", { try CapturedFrame.odd(10) }, 14, 0x8e85,
         IPv4Header(identification: 0x000a, timeToLive: 64, protocol: .icmp, source: IPv4Address(198, 51, 100, 1),
                    destination: nodeA, payloadLength: 36)),
    ]

    @Test(arguments: 0..<cases.count)
    func deconstruct(index: Int) throws {
        let (name, load, offset, checksum, expected) = Self.cases[index]
        let frame = try load()
        try decoding(frame, from: offset) { bytes in
            let packet = try IPv4Packet(checking: bytes, frameOffset: offset)
            #expect(packet.version == 4, "\(name)")
            #expect(packet.headerLength == expected.headerLength)
            #expect(packet.typeOfService == expected.typeOfService)
            #expect(packet.totalLength == expected.totalLength)
            #expect(packet.identification == expected.identification)
            #expect(packet.reservedFlag == false)
            #expect(packet.dontFragment == expected.dontFragment)
            #expect(packet.moreFragments == expected.moreFragments)
            #expect(packet.fragmentOffset == expected.fragmentOffset)
            #expect(packet.isFragment == expected.isFragment)
            #expect(packet.timeToLive == expected.timeToLive)
            #expect(packet.protocol == expected.protocol)
            #expect(packet.checksum == checksum)
            #expect(packet.checksumIsValid())
            #expect(packet.source == expected.source)
            #expect(packet.destination == expected.destination)
            #expect(IPv4Options(packet.options) == expected.options)
            #expect(packet.payload.count == expected.payloadLength)
            #expect(packet.payloadOffset == offset + expected.headerLength)
            #expect(try IPv4Header(packet) == expected)
        }
    }

    @Test(arguments: 0..<cases.count)
    func construct(index: Int) throws {
        let (name, load, offset, _, header) = Self.cases[index]
        let frame = try load()
        let bytes = emitted(header.headerLength) { header.emit(into: $0) }
        #expect(bytes == Array(frame[offset..<(offset + header.headerLength)]), "\(name)")
    }

    @Test(arguments: 0..<cases.count)
    func roundTrip(index: Int) throws {
        let (_, load, offset, _, _) = Self.cases[index]
        let frame = try load()
        let header = try decoding(frame, from: offset) { bytes in
            try IPv4Header(try IPv4Packet(checking: bytes, frameOffset: offset))
        }
        let bytes = emitted(header.headerLength) { header.emit(into: $0) }
        #expect(bytes == Array(frame[offset..<(offset + header.headerLength)]))
    }

    /// Cut inside the fixed header: the error names the header's start; cut inside the datagram: the
    /// total length field (byte 2), which promised the missing bytes.
    @Test func truncation() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        for length in 14..<34 {
            expectDecodeError(.truncated, .ipv4, at: 14) {
                _ = try decoding(Array(frame[..<length]), from: 14) { bytes in
                    try IPv4Packet(checking: bytes, frameOffset: 14)
                }
            }
        }
        for length in 34..<frame.count {
            expectDecodeError(.truncated, .ipv4, at: 16) {
                _ = try decoding(Array(frame[..<length]), from: 14) { bytes in
                    try IPv4Packet(checking: bytes, frameOffset: 14)
                }
            }
        }
    }

    /// IHL 6 announces an option word: cutting it is a truncation at the header's start.
    @Test func truncatedOptions() throws {
        let frame = Array(try CapturedFrame.odd(4)[..<36])
        expectDecodeError(.truncated, .ipv4, at: 14) {
            _ = try decoding(frame, from: 14) { bytes in try IPv4Packet(checking: bytes, frameOffset: 14) }
        }
    }

    /// odd.pcap frame 3: header checksum 0xa335 where 0xf660 is right (odd/INDEX.md).
    @Test func badChecksum() throws {
        let frame = try CapturedFrame.odd(3)
        do {
            _ = try decoding(frame, from: 14) { bytes in
                try IPv4Header(try IPv4Packet(checking: bytes, frameOffset: 14))
            }
            Issue.record("a bad header checksum was accepted")
        } catch let error as DecodeError {
            #expect(error.code == .badChecksum)
            #expect(error.layer == .ipv4)
            #expect(error.offset == 24)
            #expect(error.expected == "0xf660")
            #expect(error.found == "0xa335")
        }
        // Not verifying reads it anyway.
        let header = try decoding(frame, from: 14) { bytes in
            try IPv4Header(try IPv4Packet(checking: bytes, frameOffset: 14), verifyingChecksum: false)
        }
        #expect(header.identification == 3)
    }

    @Test func badVersionAndLengths() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        func check(_ patch: [UInt8], at field: Int, _ code: DecodeError.Code, at offset: Int) {
            expectDecodeError(code, .ipv4, at: offset) {
                _ = try decoding(patched(frame, at: field, with: patch), from: 14) { bytes in
                    try IPv4Packet(checking: bytes, frameOffset: 14)
                }
            }
        }
        check([0x65], at: 14, .badVersion, at: 14)   // version 6
        check([0x44], at: 14, .badLength, at: 14)    // IHL 4
        check([0x00, 0x13], at: 16, .badLength, at: 16)   // total length 19 < 20
    }

    /// Ethernet pads short frames to 60 bytes; the padding is not the datagram's.
    @Test func paddingIsNotPayload() throws {
        let header = IPv4Header(protocol: .udp, source: Self.nodeA, destination: Self.nodeB, payloadLength: 8)
        var bytes = emitted(46) { header.emit(into: $0) }
        bytes.replaceSubrange(20..<46, with: [UInt8](repeating: 0, count: 26))
        try decoding(bytes) { bytes in
            let packet = try IPv4Packet(checking: bytes)
            #expect(packet.payload.count == 8)
            #expect(try IPv4Header(packet).payloadLength == 8)
        }
    }

    @Test func ecnAndDSCP() {
        let header = IPv4Header(typeOfService: 0xb9, protocol: .udp, source: .any, destination: .any, payloadLength: 0)
        #expect(header.dscp == 46)
        #expect(header.ecn == 1)
    }

    @Test func description() {
        let header = Self.cases[3].header
        #expect(header.description == "IPv4 192.0.2.1 > 192.0.2.2 UDP ttl 64 id 2434 len 1396 frag 0+")
    }
}

@Suite("IPv4 options (RFC 791 §3.1)")
struct IPv4OptionsTests {
    /// odd #4's Router Alert (RFC 2113: type 148, copied, class 0, number 20; length 4) walked in place.
    @Test func routerAlertWalk() throws {
        let frame = try CapturedFrame.odd(4)
        try decoding(frame, from: 14) { bytes in
            let packet = try IPv4Packet(checking: bytes, frameOffset: 14)
            var walk = packet.optionSequence
            let first = walk.next()
            let option = try #require(first)
            #expect(option.type == 0x94 && option.isCopied && option.optionClass == 0 && option.number == 20)
            #expect(option.offset == 0 && option.bytes.count == 4 && Array(option.data) == [0, 0])
            let second = walk.next()
            #expect(second == nil && !walk.isMalformed)
            let header = try IPv4Header(packet)
            #expect(header.options == [0x94, 0x04, 0x00, 0x00])
            #expect(header.options.description == "94 04 00 00")
        }
    }

    @Test func walkStopsAtEndAndAtImpossibleLengths() {
        func walk(_ bytes: [UInt8]) -> ([UInt8], Bool) {
            bytes.withUnsafeBytes { raw in
                var sequence = IPv4OptionSequence(raw)
                var types: [UInt8] = []
                while let option = sequence.next() { types.append(option.type) }
                return (types, sequence.isMalformed)
            }
        }
        #expect(walk([0x01, 0x01, 0x07, 0x03, 0x04, 0x00, 0x44, 0x09]) == ([1, 1, 7], false))
        #expect(walk([0x07, 0x03, 0x04, 0x44, 0x09, 0x00, 0x00, 0x00]) == ([7], true))
        #expect(walk([0x44, 0x01, 0x00, 0x00]) == ([], true))
        #expect(walk([0x01, 0x44]) == ([1], true))
        #expect(walk([]) == ([], false))
    }

    /// The value keeps its options inline: an `IPv4Header` holds no reference (no heap array), so making
    /// one per packet allocates nothing.
    @Test func headerValueHoldsNoReference() {
        #expect(_isPOD(IPv4Header.self))
        #expect(_isPOD(IPv4Options.self))
    }

    @Test func optionsValueRoundTrips() {
        var random = SplitMix64(seed: 40)
        var seen = Set<IPv4Options>()
        for _ in 0..<2_000 {
            let bytes = random.bytes(Int.random(in: 0...40, using: &random))
            let options = IPv4Options(bytes)
            #expect(Array(options) == bytes)
            #expect(options.withUnsafeBytes { Array($0) } == bytes)
            #expect(options == bytes.withUnsafeBytes { IPv4Options($0) })
            seen.insert(options)
        }
        #expect(IPv4Options() == [] && IPv4Options([0]) != [0, 0])
        #expect(seen.count > 1_900)
    }

    @Test func moreThanFortyBytesStops() async {
        await #expect(processExitsWith: .failure) {
            _ = IPv4Options([UInt8](repeating: 1, count: 41))
        }
    }
}
