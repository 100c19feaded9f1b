import PacketWire
import Testing

@Suite("UDP (RFC 768)")
struct UDPTests {
    static let nodeA4 = IPv4Address(192, 0, 2, 1)
    static let nodeB4 = IPv4Address(192, 0, 2, 2)
    static let nodeA6 = IPv6Address("2001:db8:77::1")!
    static let nodeB6 = IPv6Address("2001:db8:77::2")!

    /// Real UDP headers with tshark's values (`udp.srcport`, `udp.dstport`, `udp.length`, `udp.checksum`),
    /// where each starts in its frame, and the pseudo-header of the IP packet around it.
    static let cases: [(name: String, frame: @Sendable () throws -> [UInt8], offset: Int, checksum: UInt16,
                        pseudoHeader: PseudoHeader?, header: UDPHeader)] = [
        ("flannel-v4 #9: VXLAN on 8472", { try CapturedFrame.kernel("flannel-v4", 9) }, 34, 0x15d2,
         .ipv4(source: nodeA4, destination: nodeB4),
         UDPHeader(sourcePort: 51736, destinationPort: 8472, payloadLength: 106)),
        ("flannel-v4 #23 inner: 17 bytes of data (odd length)", { try CapturedFrame.kernel("flannel-v4", 23) }, 84,
         0xeb1c, .ipv4(source: IPv4Address(10, 244, 0, 5), destination: IPv4Address(10, 244, 1, 7)),
         UDPHeader(sourcePort: 37872, destinationPort: 5353, payloadLength: 17)),
        ("nocsum-v4 #7: checksum 0, not computed", { try CapturedFrame.kernel("nocsum-v4", 7) }, 34, 0x0000, nil,
         UDPHeader(sourcePort: 51736, destinationPort: 4789, payloadLength: 106)),
        ("v6-underlay #7: VXLAN over IPv6", { try CapturedFrame.kernel("v6-underlay", 7) }, 54, 0x2b86,
         .ipv6(source: nodeA6, destination: nodeB6),
         UDPHeader(sourcePort: 58472, destinationPort: 4789, payloadLength: 106)),
        ("odd #8: after hop-by-hop and destination options", { try CapturedFrame.odd(8) }, 70, 0x299e,
         .ipv6(source: nodeA6, destination: nodeB6),
         UDPHeader(sourcePort: 50000, destinationPort: 4789, payloadLength: 106)),
    ]

    @Test(arguments: 0..<cases.count)
    func deconstruct(index: Int) throws {
        let (name, load, offset, checksum, pseudoHeader, expected) = Self.cases[index]
        let frame = try load()
        try decoding(frame, from: offset) { bytes in
            let datagram = try UDPDatagram(checking: bytes, frameOffset: offset)
            #expect(datagram.sourcePort == expected.sourcePort, "\(name)")
            #expect(datagram.destinationPort == expected.destinationPort)
            #expect(datagram.length == expected.length)
            #expect(datagram.checksum == checksum)
            #expect(datagram.payload.count == expected.payloadLength)
            #expect(datagram.payloadOffset == offset + 8)
            if let pseudoHeader {
                #expect(datagram.checksumIsValid(pseudoHeader))
                #expect(datagram.expectedChecksum(pseudoHeader) == checksum)
            }
            #expect(try UDPHeader(datagram, verifyingWith: pseudoHeader) == expected)
        }
    }

    /// The data is in place first, as in real encapsulation; emit writes the header and the checksum.
    @Test(arguments: 0..<cases.count)
    func construct(index: Int) throws {
        let (name, load, offset, _, pseudoHeader, header) = Self.cases[index]
        let frame = try load()
        let original = Array(frame[offset..<(offset + header.length)])
        var bytes = original
        bytes.replaceSubrange(0..<8, with: [UInt8](repeating: 0xa5, count: 8))
        bytes.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
        #expect(bytes == original, "\(name)")
    }

    @Test(arguments: 0..<cases.count)
    func roundTrip(index: Int) throws {
        let (_, load, offset, _, pseudoHeader, _) = Self.cases[index]
        let frame = try load()
        let header = try decoding(frame, from: offset) { bytes in
            try UDPHeader(try UDPDatagram(checking: bytes, frameOffset: offset), verifyingWith: pseudoHeader)
        }
        var bytes = Array(frame[offset..<(offset + header.length)])
        bytes.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
        #expect(bytes == Array(frame[offset..<(offset + header.length)]))
    }

    /// odd.pcap frame 2: checksum 0x54a8 where 0x01fd is right (odd/INDEX.md).
    @Test func badChecksum() throws {
        let frame = try CapturedFrame.odd(2)
        let pseudoHeader = PseudoHeader.ipv4(source: Self.nodeA4, destination: Self.nodeB4)
        do {
            _ = try decoding(frame, from: 34) { bytes in
                try UDPHeader(try UDPDatagram(checking: bytes, frameOffset: 34), verifyingWith: pseudoHeader)
            }
            Issue.record("a bad UDP checksum was accepted")
        } catch let error as DecodeError {
            #expect(error.code == .badChecksum)
            #expect(error.layer == .udp)
            #expect(error.offset == 40)
            #expect(error.expected == "0x01fd")
            #expect(error.found == "0x54a8")
        }
    }

    /// A wrong pseudo-header (the packet was for another address) fails the checksum too.
    @Test func checksumCoversThePseudoHeader() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        expectDecodeError(.badChecksum, .udp, at: 40) {
            _ = try decoding(frame, from: 34) { bytes in
                try UDPHeader(try UDPDatagram(checking: bytes, frameOffset: 34),
                              verifyingWith: .ipv4(source: Self.nodeA4, destination: IPv4Address(192, 0, 2, 3)))
            }
        }
    }

    /// odd.pcap frame 15: IPv6 with checksum 0. The header reads (whether to accept it is the VTEP's
    /// `udp6zerocsumrx` policy, RFC 6935), and no checksum is checked.
    @Test func zeroChecksumOverIPv6IsNotVerified() throws {
        let frame = try CapturedFrame.odd(15)
        let header = try decoding(frame, from: 54) { bytes in
            let datagram = try UDPDatagram(checking: bytes, frameOffset: 54)
            #expect(datagram.checksum == 0)
            #expect(!datagram.checksumIsValid(.ipv6(source: Self.nodeA6, destination: Self.nodeB6)))
            return try UDPHeader(datagram, verifyingWith: .ipv6(source: Self.nodeA6, destination: Self.nodeB6))
        }
        #expect(header.destinationPort == 4789)
    }

    /// RFC 768: a computed checksum of zero is sent as all ones.
    @Test func computedZeroIsSentAsAllOnes() throws {
        let pseudoHeader = PseudoHeader.ipv4(source: Self.nodeA4, destination: Self.nodeB4)
        let header = UDPHeader(sourcePort: 1234, destinationPort: 4789, payloadLength: 2)
        var datagram = [UInt8](repeating: 0, count: 10)
        datagram.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
        // With zero data the checksum is C = ~S. Carrying C as the data word makes the sum S + ~S = all
        // ones, whose complement, the computed checksum, is zero.
        datagram = [UInt8](repeating: 0, count: 8) + [datagram[6], datagram[7]]
        datagram.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
        #expect(datagram[6] == 0xff && datagram[7] == 0xff)
        try decoding(datagram) { bytes in
            let view = try UDPDatagram(checking: bytes)
            #expect(view.checksumIsValid(pseudoHeader))
            #expect(view.expectedChecksum(pseudoHeader) == 0xffff)
        }
    }

    @Test func truncation() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        let datagram = Array(frame[34...])
        for length in 0..<8 {
            expectDecodeError(.truncated, .udp, at: 34) {
                _ = try decoding(Array(datagram[..<length])) { bytes in
                    try UDPDatagram(checking: bytes, frameOffset: 34)
                }
            }
        }
        for length in 8..<datagram.count {
            expectDecodeError(.truncated, .udp, at: 38) {
                _ = try decoding(Array(datagram[..<length])) { bytes in
                    try UDPDatagram(checking: bytes, frameOffset: 34)
                }
            }
        }
    }

    @Test func lengthBelowHeader() throws {
        let frame = patched(try CapturedFrame.kernel("flannel-v4", 9), at: 38, with: [0x00, 0x07])
        expectDecodeError(.badLength, .udp, at: 38) {
            _ = try decoding(frame, from: 34) { bytes in try UDPDatagram(checking: bytes, frameOffset: 34) }
        }
    }

    @Test func description() {
        #expect(Self.cases[0].header.description == "UDP 51736 > 8472 len 114")
    }
}
