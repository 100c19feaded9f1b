import PacketWire
import Testing

/// RFC 1624 rewrites (NAT's address and port changes, a router's TTL) against full recomputation, on
/// random packets from a seeded generator and on the one's-complement corners RFC 1624 §3 discusses.
@Suite("Incremental checksum updates (RFC 1624)")
struct IncrementalChecksumTests {
    /// A random IPv4 packet carrying UDP (checksummed or with checksum 0), TCP with options, an ICMP echo
    /// or an unknown protocol, every checksum correct.
    static func ipv4Packet(using random: inout SplitMix64) -> [UInt8] {
        var header = Arbitrary.ipv4Header(using: &random)
        header.fragmentOffset = 0
        header.reservedFlag = false
        let kind = Int.random(in: 0..<5, using: &random)
        header.protocol = [.udp, .udp, .tcp, .icmp, IPProtocol(rawValue: 99)][kind]
        let pseudo = PseudoHeader.ipv4(source: header.source, destination: header.destination)
        var transport: [UInt8]
        switch kind {
        case 0, 1:
            let udp = UDPHeader(sourcePort: random.uint16(), destinationPort: random.uint16(),
                                payloadLength: Int.random(in: 0...80, using: &random))
            transport = [UInt8](repeating: 0, count: 8) + random.bytes(udp.payloadLength)
            transport.withUnsafeMutableBytes { udp.emit(into: $0, checksum: kind == 0 ? pseudo : nil) }
        case 2:
            var tcp = Arbitrary.tcpHeader(using: &random)
            tcp.payloadLength = Int.random(in: 0...80, using: &random)
            transport = [UInt8](repeating: 0, count: tcp.headerLength) + random.bytes(tcp.payloadLength)
            transport.withUnsafeMutableBytes { tcp.emit(into: $0, checksum: pseudo) }
        case 3:
            let echo = ICMPv4Header(random.bool() ? .echoRequest(identifier: random.uint16(), sequenceNumber: random.uint16())
                                                  : .echoReply(identifier: random.uint16(), sequenceNumber: random.uint16()),
                                    payloadLength: Int.random(in: 0...64, using: &random))
            transport = [UInt8](repeating: 0, count: 8) + random.bytes(echo.payloadLength)
            transport.withUnsafeMutableBytes { echo.emit(into: $0) }
        default:
            transport = random.bytes(Int.random(in: 0...40, using: &random))
        }
        header.payloadLength = transport.count
        var bytes = [UInt8](repeating: 0, count: header.headerLength) + transport
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        return bytes
    }

    /// What a rewrite should produce, computed the slow way: fields written with the plain setters, then
    /// every checksum recomputed from scratch (a UDP checksum of 0 stays 0).
    static func recomputed(_ original: [UInt8], source: IPv4Address?, destination: IPv4Address?,
                           sourcePort: UInt16?, destinationPort: UInt16?, timeToLive: UInt8?) throws -> [UInt8] {
        var bytes = original
        try bytes.withUnsafeMutableBytes { raw in
            let packet = try MutableIPv4Packet(checking: raw)
            if let source { packet.source = source }
            if let destination { packet.destination = destination }
            if let timeToLive { packet.timeToLive = timeToLive }
            packet.fillChecksum()
            let pseudo = PseudoHeader.ipv4(source: packet.source, destination: packet.destination)
            switch packet.protocol {
            case .udp:
                let udp = try MutableUDPDatagram(checking: packet.payload)
                if let sourcePort { udp.sourcePort = sourcePort }
                if let destinationPort { udp.destinationPort = destinationPort }
                if udp.checksum != 0 { udp.fillChecksum(pseudo) }
            case .tcp:
                let tcp = try MutableTCPSegment(checking: packet.payload)
                if let sourcePort { tcp.sourcePort = sourcePort }
                if let destinationPort { tcp.destinationPort = destinationPort }
                tcp.fillChecksum(pseudo)
            case .icmp:
                let icmp = try MutableICMPv4Message(checking: packet.payload)
                if let port = sourcePort ?? destinationPort { icmp.identifier = port }
                icmp.fillChecksum()
            default:
                break
            }
        }
        return bytes
    }

    /// The property: on random packets, every incremental rewrite leaves exactly the bytes a full
    /// recomputation leaves, and reports whether a port could be written.
    @Test func ipv4RewritesEqualFullRecomputation() throws {
        var random = SplitMix64(seed: 1624)
        for _ in 0..<20_000 {
            let original = Self.ipv4Packet(using: &random)
            let protocolNumber = original[9]
            let hasPorts = protocolNumber == IPProtocol.udp.rawValue || protocolNumber == IPProtocol.tcp.rawValue
                || protocolNumber == IPProtocol.icmp.rawValue
            var bytes = original
            var source: IPv4Address?, destination: IPv4Address?, sourcePort: UInt16?, destinationPort: UInt16?
            var ttl: UInt8?
            try bytes.withUnsafeMutableBytes { raw in
                let packet = try MutableIPv4Packet(checking: raw)
                switch Int.random(in: 0..<4, using: &random) {
                case 0:
                    source = random.ipv4Address()
                    let port: UInt16? = random.bool() ? random.uint16() : nil
                    sourcePort = port
                    let written = packet.rewriteSource(source!, port: port)
                    #expect(written == (port == nil || hasPorts))
                case 1:
                    destination = random.ipv4Address()
                    let port: UInt16? = random.bool() ? random.uint16() : nil
                    destinationPort = port
                    let written = packet.rewriteDestination(destination!, port: port)
                    #expect(written == (port == nil || hasPorts))
                case 2:
                    ttl = random.uint8()
                    packet.rewriteTimeToLive(ttl!)
                default:
                    let before = packet.timeToLive
                    let after = packet.decrementTimeToLive()
                    #expect(after == (before == 0 ? nil : before - 1))
                    ttl = after ?? before
                }
            }
            let expected = try Self.recomputed(original, source: source, destination: destination,
                                               sourcePort: sourcePort, destinationPort: destinationPort, timeToLive: ttl)
            #expect(bytes == expected)
        }
    }

    /// The same property over IPv6, with and without a destination options header before the upper
    /// layer: the address is in the pseudo-header of UDP, TCP and ICMPv6 alike.
    @Test func ipv6RewritesEqualFullRecomputation() throws {
        var random = SplitMix64(seed: 8200)
        for _ in 0..<5_000 {
            let source = random.ipv6Address(), destination = random.ipv6Address()
            let kind = Int.random(in: 0..<4, using: &random)
            let upper: IPProtocol = [.udp, .udp, .tcp, .icmpv6][kind]
            let pseudo = PseudoHeader.ipv6(source: source, destination: destination)
            var transport: [UInt8]
            switch kind {
            case 0, 1:
                let udp = UDPHeader(sourcePort: random.uint16(), destinationPort: random.uint16(),
                                    payloadLength: Int.random(in: 0...80, using: &random))
                transport = [UInt8](repeating: 0, count: 8) + random.bytes(udp.payloadLength)
                transport.withUnsafeMutableBytes { udp.emit(into: $0, checksum: kind == 0 ? pseudo : nil) }
            case 2:
                let tcp = Arbitrary.tcpHeader(using: &random)
                transport = [UInt8](repeating: 0, count: tcp.headerLength) + random.bytes(tcp.payloadLength)
                transport.withUnsafeMutableBytes { tcp.emit(into: $0, checksum: pseudo) }
            default:
                let echo = ICMPv6Header(.echoRequest(identifier: random.uint16(), sequenceNumber: random.uint16()),
                                        payloadLength: Int.random(in: 0...64, using: &random))
                transport = [UInt8](repeating: 0, count: 8) + random.bytes(echo.payloadLength)
                transport.withUnsafeMutableBytes { echo.emit(into: $0, checksum: pseudo) }
            }
            let withOptions = random.bool()
            // Destination options: next header, length 0 (8 bytes), PadN of 4.
            let extensionHeader: [UInt8] = withOptions ? [upper.rawValue, 0, 1, 4, 0, 0, 0, 0] : []
            let header = IPv6Header(payloadLength: extensionHeader.count + transport.count,
                                    nextHeader: withOptions ? .destinationOptions : upper, source: source,
                                    destination: destination)
            let original = emitted(40) { header.emit(into: $0) } + extensionHeader + transport
            let newAddress = random.ipv6Address()
            let port: UInt16? = random.bool() ? random.uint16() : nil
            let rewriteSource = random.bool()
            var bytes = original
            try bytes.withUnsafeMutableBytes { raw in
                let packet = try MutableIPv6Packet(checking: raw)
                let written = rewriteSource ? packet.rewriteSource(newAddress, port: port)
                                            : packet.rewriteDestination(newAddress, port: port)
                #expect(written)
            }
            var expected = original
            try expected.withUnsafeMutableBytes { raw in
                let packet = try MutableIPv6Packet(checking: raw)
                if rewriteSource { packet.source = newAddress } else { packet.destination = newAddress }
                let pseudo = PseudoHeader.ipv6(source: packet.source, destination: packet.destination)
                let upperBytes = packet.payload.dropFirst(count: extensionHeader.count)
                switch upper {
                case .udp:
                    let udp = try MutableUDPDatagram(checking: upperBytes)
                    if let port { if rewriteSource { udp.sourcePort = port } else { udp.destinationPort = port } }
                    if udp.checksum != 0 { udp.fillChecksum(pseudo) }
                case .tcp:
                    let tcp = try MutableTCPSegment(checking: upperBytes)
                    if let port { if rewriteSource { tcp.sourcePort = port } else { tcp.destinationPort = port } }
                    tcp.fillChecksum(pseudo)
                default:
                    let icmp = try MutableICMPv6Message(checking: upperBytes)
                    if let port { icmp.identifier = port }
                    icmp.fillChecksum(pseudo)
                }
            }
            #expect(bytes == expected)
        }
    }

    /// A checksum that was wrong before a rewrite is wrong by the same amount after it: the rewrite does
    /// not launder corrupted packets (Linux's NAT does not either; it never recomputes).
    @Test func wrongChecksumsStayWrong() throws {
        var random = SplitMix64(seed: 0xbad)
        for _ in 0..<2_000 {
            var bytes = Self.ipv4Packet(using: &random)
            guard bytes[9] == IPProtocol.tcp.rawValue else { continue }
            let headerLength = Int(bytes[0] & 0x0F) * 4
            bytes[headerLength + 16] ^= 0x5a   // corrupt the TCP checksum
            func residual(_ bytes: [UInt8]) -> UInt16? {
                bytes.withUnsafeBytes { raw in
                    (try? IPv4Packet(checking: raw)).map { packet in
                        PseudoHeader.ipv4(source: packet.source, destination: packet.destination)
                            .checksum(of: packet.payload, protocol: .tcp)
                    }
                }
            }
            let before = try #require(residual(bytes))
            #expect(before != 0)
            try bytes.withUnsafeMutableBytes { raw in
                let packet = try MutableIPv4Packet(checking: raw)
                packet.rewriteSource(random.ipv4Address(), port: random.uint16())
                #expect(packet.checksumIsValid())
            }
            #expect(residual(bytes) == before)
        }
    }

    // MARK: The one's-complement zero (RFC 1624 §3)

    /// RFC 1624 §3's example: eqn. 2 of RFC 1141 gives 0xFFFF (-0) where recomputation gives 0x0000;
    /// eqn. 3 gives 0x0000. The field held +0's twin, -0, in the other direction too: Linux's 32-bit
    /// `csum_replace` never writes -0, and neither does this.
    @Test func negativeZeroIsNeverWritten() {
        #expect(InternetChecksum.updated(0xdd2f, replacing: 0x5555, with: 0x3285) == 0x0000)
        // HC = 0xFFFF, m = 0xFFFF, m' = 0: the 16-bit eqn. 3 sum is 0 + 0 + 0 = +0, whose complement is -0.
        // Linux's `csum_replace2`/`csum_replace4` add ~HC in 32 bits (0xFFFF0000 | ~HC), which keeps the sum
        // off +0, and return 0x0000.
        #expect(InternetChecksum.updated(0xFFFF, replacing: 0xFFFF, with: 0x0000) == 0x0000)
        #expect(InternetChecksum.updated(0xFFFF, replacing: IPv4Address.broadcast, with: .any) == 0x0000)
        var random = SplitMix64(seed: 0)
        for _ in 0..<100_000 {
            let updated = InternetChecksum.updated(random.uint16(), replacing: random.uint16(), with: random.uint16())
            #expect(updated != 0xFFFF)
        }
    }

    /// A rewrite whose recomputed IPv4 header checksum is 0x0000 gets 0x0000 incrementally too.
    @Test func ipv4HeaderChecksumOfZero() throws {
        let header = IPv4Header(identification: 0x1234, timeToLive: 64, protocol: IPProtocol(rawValue: 99),
                                source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2), payloadLength: 0)
        let original = emitted(20) { header.emit(into: $0) }
        // Search the low half of a new source address for the one that makes the checksum 0x0000.
        var found: IPv4Address?
        for low in 0...0xFFFF {
            var changed = header
            changed.source = IPv4Address(rawValue: 0x0a00_0000 | UInt32(low))
            let bytes = emitted(20) { changed.emit(into: $0) }
            if bytes[10] == 0 && bytes[11] == 0 { found = changed.source; break }
        }
        let target = try #require(found)
        var bytes = original
        try bytes.withUnsafeMutableBytes { raw in
            let packet = try MutableIPv4Packet(checking: raw)
            packet.rewriteSource(target)
            #expect(packet.checksum == 0x0000)
            #expect(packet.checksumIsValid())
        }
    }

    /// UDP: a rewrite whose checksum comes out as 0 sends 0xFFFF (RFC 768, `CSUM_MANGLED_0`), as a full
    /// computation does; a datagram carrying that 0xFFFF rewritten back gets the first checksum again.
    @Test func udpChecksumOfZeroIsSentAsAllOnes() throws {
        let pseudo = PseudoHeader.ipv4(source: IPv4Address(192, 0, 2, 1), destination: IPv4Address(192, 0, 2, 2))
        let udp = UDPHeader(sourcePort: 1000, destinationPort: 2000, payloadLength: 6)
        var original = [UInt8](repeating: 0, count: 8) + [0x10, 0x20, 0x30, 0x40, 0x50, 0x60]
        original.withUnsafeMutableBytes { udp.emit(into: $0, checksum: pseudo) }
        var port: UInt16?
        for candidate in 0...UInt16.max {
            var changed = original
            changed.withUnsafeMutableBytes { raw in
                let datagram = MutableUDPDatagram(formatting: raw)
                datagram.sourcePort = candidate
                datagram.fillChecksum(pseudo)
            }
            if changed[6] == 0xFF && changed[7] == 0xFF { port = candidate; break }
        }
        let target = try #require(port)
        var bytes = original
        try bytes.withUnsafeMutableBytes { raw in
            let datagram = try MutableUDPDatagram(checking: raw)
            datagram.rewriteSourcePort(target)
            #expect(datagram.checksum == 0xFFFF)
            #expect(datagram.checksumIsValid(pseudo))
            datagram.rewriteSourcePort(1000)
        }
        #expect(bytes == original)
    }

    /// RFC 768: a UDP checksum of 0 means "none"; a rewrite leaves it 0 (Linux: `do_csum` is false).
    @Test func udpZeroChecksumStaysZero() throws {
        var bytes = try CapturedFrame.kernel("nocsum-v4", 7)
        try bytes.withUnsafeMutableBytes { raw in
            let packet = try MutableIPv4Packet(checking: raw.dropFirst(count: 14), frameOffset: 14)
            #expect(packet.rewriteDestination(IPv4Address(203, 0, 113, 9), port: 8472))
            #expect(packet.checksumIsValid())
            let udp = try MutableUDPDatagram(checking: packet.payload)
            #expect(udp.checksum == 0)
            #expect(udp.destinationPort == 8472)
        }
    }

    /// Real kernel frames: DNAT of the inner TCP SYN, SNAT of the inner UDP datagram and of the ICMP
    /// echo leave checksums a full recomputation agrees with (tshark's values are the originals').
    @Test(arguments: [15, 23, 9])
    func natOnKernelFrames(frameNumber: Int) throws {
        let frame = try CapturedFrame.kernel("flannel-v4", frameNumber)
        let inner = Array(frame[64...])
        var bytes = inner
        let newAddress = IPv4Address(10, 96, 0, 10)
        try bytes.withUnsafeMutableBytes { raw in
            let packet = try MutableIPv4Packet(checking: raw)
            #expect(packet.rewriteDestination(newAddress, port: 53))
        }
        let expected = try Self.recomputed(inner, source: nil, destination: newAddress, sourcePort: nil,
                                           destinationPort: 53, timeToLive: nil)
        #expect(bytes == expected, "flannel-v4 #\(frameNumber)")
    }

    /// The static TTL decrement the dataplane uses today and the mutable view's agree.
    @Test func ttlDecrementsAgree() throws {
        var random = SplitMix64(seed: 0x717)
        for _ in 0..<2_000 {
            let original = Self.ipv4Packet(using: &random)
            var viaStatic = original, viaView = original
            let a = viaStatic.withUnsafeMutableBytes { IPv4Packet.decrementTimeToLive(in: $0) }
            let b = try viaView.withUnsafeMutableBytes { try MutableIPv4Packet(checking: $0).decrementTimeToLive() }
            #expect(a == b)
            #expect(viaStatic == viaView)
        }
    }
}
