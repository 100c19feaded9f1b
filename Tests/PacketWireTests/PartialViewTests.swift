import PacketWire
import Testing

/// The lenient views: what an ICMP error's quote and a snap-length cut leave readable, and what they say
/// is missing. Their shortfall is exactly the error the strict view throws for the same bytes.
@Suite("Partial views: quoted and snap-length-cut headers")
struct PartialViewTests {
    static let nodeA = IPv4Address(192, 0, 2, 1)
    static let nodeB = IPv4Address(192, 0, 2, 2)

    /// The error a strict view throws for `body`, or nil when it does not throw.
    static func strictError(_ body: () throws(DecodeError) -> Void) -> DecodeError? {
        do throws(DecodeError) {
            try body()
            return nil
        } catch {
            return error
        }
    }

    // MARK: RFC 792 quotes

    /// odd.pcap frame 10: ICMP fragmentation needed quoting an IPv4 header (total length 1450, DF, TTL 63)
    /// and the 8-byte UDP header 50000 > 4789. Addresses, protocol and ports are there; the UDP length
    /// and checksum cannot be checked; there is no VXLAN header.
    @Test func fragmentationNeededQuote() throws {
        let frame = try CapturedFrame.odd(10)
        try decoding(frame, from: 34) { bytes in
            let message = try ICMPv4Message(checking: bytes, frameOffset: 34)
            let quote = try #require(try message.invokingIPv4Packet())
            #expect(quote.source == Self.nodeA && quote.destination == Self.nodeB)
            #expect(quote.protocol == .udp)
            #expect(quote.timeToLive == 63)
            #expect(quote.dontFragment == true && quote.isFragment == false)
            #expect(quote.identification == 0x0a0a)
            #expect(quote.totalLength == 1450)
            #expect(quote.hasCompleteHeader && !quote.isComplete)
            #expect(quote.checksumIsValid() == true)
            #expect(quote.complete == nil)
            #expect(quote.shortfall == Shortfall(layer: .ipv4, part: .payload, offset: 44, needed: 1450, available: 28))
            #expect(quote.ports.map { [$0.source, $0.destination] } == [50000, 4789])
            #expect(try quote.tcpSegment() == nil)

            let udp = try #require(try quote.udpDatagram())
            #expect(udp.sourcePort == 50000 && udp.destinationPort == 4789)
            #expect(udp.length == 1430)
            #expect(udp.checksum == 0x68b8)
            #expect(udp.hasCompleteHeader && !udp.isComplete)
            #expect(udp.shortfall == Shortfall(layer: .udp, part: .payload, offset: 66, needed: 1430, available: 8))
            #expect(udp.checksumIsValid(.ipv4(source: Self.nodeA, destination: Self.nodeB)) == nil)
            #expect(udp.payload.isEmpty)
            #expect(udp.vxlan == nil)
            #expect(quote.description
                    == "IPv4 192.0.2.1 > 192.0.2.2 UDP ttl 63 id 2570 len 1450 DF (ipv4 payload cut short: 28 of 1450 bytes present (byte 44))")
            #expect(udp.description == "UDP 50000 > 4789 len 1430 (udp payload cut short: 8 of 1430 bytes present (byte 66))")
        }
    }

    /// An echo request quotes nothing: only errors have an invoking packet.
    @Test func echoHasNoQuote() throws {
        let quote = try decoding(try CapturedFrame.kernel("flannel-v4", 9), from: 84) { bytes in
            try ICMPv4Message(checking: bytes, frameOffset: 84).invokingIPv4Packet()
        }
        #expect(quote == nil)
    }

    /// odd.pcap frame 12: ICMPv6 packet too big quoting 64 bytes of an IPv6/UDP/VXLAN packet: the UDP
    /// header and the VXLAN header (VNI 42) are there, the inner frame's first 8 bytes only.
    @Test func packetTooBigQuote() throws {
        let frame = try CapturedFrame.odd(12)
        try decoding(frame, from: 54) { bytes in
            let message = try ICMPv6Message(checking: bytes, frameOffset: 54)
            let quote = try #require(try message.invokingIPv6Packet())
            #expect(quote.source == IPv6Address("2001:db8:77::1") && quote.destination == IPv6Address("2001:db8:77::2"))
            #expect(quote.nextHeader == .udp && quote.payloadLength == 1414)
            #expect(quote.shortfall == Shortfall(layer: .ipv6, part: .payload, offset: 66, needed: 1454, available: 64))
            #expect(quote.upperLayer?.protocol == .udp)
            #expect(quote.ports.map { [$0.source, $0.destination] } == [50000, 4789])
            let udp = try #require(try quote.udpDatagram())
            #expect(udp.length == 1414)
            #expect(udp.shortfall?.available == 24)
            let vxlan = try #require(udp.vxlan)
            #expect(try VXLANHeader(vxlan).vni == 42)
            #expect(vxlan.payload.count == 8)
        }
    }

    /// odd.pcap frame 16: a VXLAN frame cut to 96 of its 1064 bytes by the capture. The outer headers and
    /// the VXLAN header are there; the inner IPv4 header too, its data mostly not.
    @Test func snapLengthCut() throws {
        let frame = try CapturedFrame.odd(16)
        #expect(frame.count == 96)
        try decoding(frame, from: 14) { bytes in
            let ip = try PartialIPv4Packet(bytes, frameOffset: 14)
            #expect(ip.totalLength == 1050)
            #expect(ip.shortfall == Shortfall(layer: .ipv4, part: .payload, offset: 16, needed: 1050, available: 82))
            let strict = Self.strictError { () throws(DecodeError) in _ = try IPv4Packet(checking: bytes, frameOffset: 14) }
            #expect(ip.shortfall?.error == strict)
            let udp = try #require(try ip.udpDatagram())
            #expect(udp.length == 1030)
            #expect(udp.shortfall == Shortfall(layer: .udp, part: .payload, offset: 38, needed: 1030, available: 62))
            let vxlan = try #require(udp.vxlan)
            #expect(try VXLANHeader(vxlan).vni == 42)
            let inner = try EthernetFrame(checking: vxlan.payload, frameOffset: vxlan.payloadOffset)
            let innerIP = try PartialIPv4Packet(inner.payload, frameOffset: inner.payloadOffset)
            #expect(innerIP.totalLength == 1000 && innerIP.hasCompleteHeader)
            #expect(innerIP.shortfall?.available == 32)
        }
    }

    // MARK: Truncation sweeps against the strict views

    /// Cut flannel-v4 #9 at every length: every IPv4 field is there exactly when its bytes are, with the
    /// value the whole packet has, and the shortfall is the strict view's error (or nil when it accepts).
    @Test func ipv4AndUDPSweep() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        let whole = try decoding(frame, from: 14) { try IPv4Header(try IPv4Packet(checking: $0, frameOffset: 14)) }
        for length in 14...frame.count {
            try decoding(Array(frame[..<length]), from: 14) { bytes in
                let partial = try PartialIPv4Packet(bytes, frameOffset: 14)
                let count = length - 14
                #expect((partial.totalLength != nil) == (count >= 4))
                #expect(partial.totalLength.map { $0 == whole.totalLength } ?? true)
                #expect((partial.timeToLive != nil) == (count >= 9))
                #expect(partial.timeToLive.map { $0 == whole.timeToLive } ?? true)
                #expect((partial.source != nil) == (count >= 16) && (partial.destination != nil) == (count >= 20))
                #expect(partial.destination.map { $0 == whole.destination } ?? true)
                #expect((partial.checksumIsValid() != nil) == (count >= 20))
                let strict = Self.strictError { () throws(DecodeError) in _ = try IPv4Packet(checking: bytes, frameOffset: 14) }
                #expect(partial.shortfall?.error == strict, "length \(length)")
                guard let udp = try partial.udpDatagram() else {
                    #expect(count < 20)
                    return
                }
                let udpBytes = bytes.dropFirst(count: 20)
                let strictUDP = Self.strictError { () throws(DecodeError) in
                    _ = try UDPDatagram(checking: udpBytes, frameOffset: 34)
                }
                #expect(udp.shortfall?.error == strictUDP, "length \(length)")
                #expect((udp.destinationPort != nil) == (count >= 24))
                #expect((udp.vxlan != nil) == (count >= 36))
                #expect((udp.complete != nil) == (length == frame.count))
            }
        }
    }

    @Test func ipv6Sweep() throws {
        let frame = try CapturedFrame.kernel("v6-underlay", 7)
        for length in 14...frame.count {
            try decoding(Array(frame[..<length]), from: 14) { bytes in
                let partial = try PartialIPv6Packet(bytes, frameOffset: 14)
                let count = length - 14
                #expect((partial.hopLimit != nil) == (count >= 8))
                #expect((partial.source != nil) == (count >= 24) && (partial.destination != nil) == (count >= 40))
                let strict = Self.strictError { () throws(DecodeError) in _ = try IPv6Packet(checking: bytes, frameOffset: 14) }
                #expect(partial.shortfall?.error == strict, "length \(length)")
                #expect((partial.ports != nil) == (count >= 44))
                #expect((partial.complete != nil) == (length == frame.count))
            }
        }
    }

    /// TCP has no length field: without the IP layer's segment length, only a cut header is a shortfall,
    /// and it is the strict view's error.
    @Test func tcpSweep() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 15)
        let segmentLength = frame.count - 84
        for length in 84...frame.count {
            try decoding(Array(frame[..<length]), from: 84) { bytes in
                let partial = try PartialTCPSegment(bytes, frameOffset: 84)
                let strict = Self.strictError { () throws(DecodeError) in _ = try TCPSegment(checking: bytes, frameOffset: 84) }
                #expect(partial.shortfall?.error == strict, "length \(length)")
                #expect((partial.sequenceNumber != nil) == (length - 84 >= 8))
                let told = try PartialTCPSegment(bytes, frameOffset: 84, segmentLength: segmentLength)
                #expect((told.shortfall == nil) == (length == frame.count))
            }
        }
        // Through the IPv4 view the segment length is known: flannel-v4 #18 carries 26 bytes of data
        // after a 32-byte header; cut one, and the segment says one is missing.
        let data = try CapturedFrame.kernel("flannel-v4", 18)
        try decoding(Array(data[64..<(data.count - 1)])) { bytes in
            let segment = try #require(try PartialIPv4Packet(bytes).tcpSegment())
            #expect(segment.shortfall == Shortfall(layer: .tcp, part: .payload, offset: 20, needed: 32 + 26,
                                                   available: 32 + 25))
            #expect(segment.flags == [.psh, .ack] && segment.destinationPort == 8080)
            #expect(segment.payload.count == 25)
        }
    }

    /// What no cut explains is still an error: a wrong version, an IHL below 5, a UDP length below 8.
    @Test func contradictionsAreErrors() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        expectDecodeError(.badVersion, .ipv4, at: 14) {
            _ = try decoding(Array(patched(frame, at: 14, with: [0x65])[..<40]), from: 14) {
                try PartialIPv4Packet($0, frameOffset: 14)
            }
        }
        expectDecodeError(.badLength, .ipv4, at: 14) {
            _ = try decoding(Array(patched(frame, at: 14, with: [0x44])[..<40]), from: 14) {
                try PartialIPv4Packet($0, frameOffset: 14)
            }
        }
        expectDecodeError(.badLength, .udp, at: 38) {
            _ = try decoding(Array(patched(frame, at: 38, with: [0, 7])[..<40]), from: 34) {
                try PartialUDPDatagram($0, frameOffset: 34)
            }
        }
        // Nothing there at all is not an error: every field is nil and the header is what is missing.
        try decoding([]) { bytes in
            let empty = try PartialIPv4Packet(bytes, frameOffset: 14)
            #expect(empty.version == nil && empty.source == nil && empty.ports == nil)
            #expect(empty.shortfall == Shortfall(layer: .ipv4, part: .header, offset: 14, needed: 20, available: 0))
        }
    }

    /// Address readers are public, for layers that must read an address where no view applies.
    @Test func addressReaders() throws {
        let frame = try CapturedFrame.kernel("v6-underlay", 7)
        decoding(frame) { bytes in
            #expect(MACAddress(reading: bytes, at: 0) == MACAddress(0x02, 0, 0, 0, 0x0b, 0x01))
            #expect(IPv6Address(reading: bytes, at: 22) == IPv6Address("2001:db8:77::1"))
        }
        decoding(try CapturedFrame.kernel("flannel-v4", 9)) { bytes in
            #expect(IPv4Address(reading: bytes, at: 26) == Self.nodeA)
        }
        var written = [UInt8](repeating: 0xa5, count: 4 + 6 + 16)
        written.withUnsafeMutableBytes { raw in
            Self.nodeB.write(into: raw, at: 0)
            MACAddress.broadcast.write(into: raw, at: 4)
            IPv6Address("::1")!.write(into: raw, at: 10)
        }
        #expect(written == [192, 0, 2, 2] + [UInt8](repeating: 0xff, count: 6) + [UInt8](repeating: 0, count: 15) + [1])
    }
}
