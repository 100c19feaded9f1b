import PacketWire
import Testing

/// The mutable views: every setter rebuilds real kernel bytes in a 0xa5-filled buffer (a byte no setter
/// writes keeps 0xa5), and each setter changes its own field and nothing else.
@Suite("Mutable views: setters and fillChecksum")
struct MutableViewTests {
    /// `count` bytes of 0xa5 with `payload` copied in at `offset`.
    static func canvas(_ count: Int, payload: ArraySlice<UInt8>, at offset: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xa5, count: count)
        bytes.replaceSubrange(offset..<(offset + payload.count), with: payload)
        return bytes
    }

    // MARK: Construct: setters over 0xa5 give the captured bytes

    @Test(arguments: 0..<IPv4Tests.cases.count)
    func ipv4Construct(index: Int) throws {
        let (name, load, offset, checksum, header) = IPv4Tests.cases[index]
        let frame = try load()
        let original = Array(frame[offset..<(offset + header.totalLength)])
        var bytes = Self.canvas(header.totalLength, payload: original[header.headerLength...], at: header.headerLength)
        bytes.withUnsafeMutableBytes { raw in
            let packet = MutableIPv4Packet(formatting: raw, headerLength: header.headerLength,
                                           totalLength: header.totalLength)
            packet.typeOfService = header.typeOfService
            packet.identification = header.identification
            packet.reservedFlag = header.reservedFlag
            packet.dontFragment = header.dontFragment
            packet.moreFragments = header.moreFragments
            packet.fragmentOffset = header.fragmentOffset
            packet.timeToLive = header.timeToLive
            packet.protocol = header.protocol
            packet.source = header.source
            packet.destination = header.destination
            header.options.withUnsafeBytes { packet.options.copyMemory(from: $0) }
            packet.fillChecksum()
            #expect(packet.checksum == checksum, "\(name)")
            #expect(packet.checksumIsValid())
        }
        #expect(bytes == original, "\(name)")
    }

    @Test(arguments: 0..<UDPTests.cases.count)
    func udpConstruct(index: Int) throws {
        let (name, load, offset, _, pseudoHeader, header) = UDPTests.cases[index]
        let original = Array(try load()[offset..<(offset + header.length)])
        var bytes = Self.canvas(header.length, payload: original[8...], at: 8)
        bytes.withUnsafeMutableBytes { raw in
            let datagram = MutableUDPDatagram(formatting: raw, length: header.length)
            datagram.sourcePort = header.sourcePort
            datagram.destinationPort = header.destinationPort
            if let pseudoHeader {
                datagram.fillChecksum(pseudoHeader)
                #expect(datagram.checksumIsValid(pseudoHeader))
            } else {
                datagram.checksum = 0
            }
        }
        #expect(bytes == original, "\(name)")
    }

    @Test(arguments: 0..<TCPTests.cases.count)
    func tcpConstruct(index: Int) throws {
        let (name, load, offset, pseudoHeader, _, header) = TCPTests.cases[index]
        let original = Array(try load()[offset..<(offset + header.length)])
        var bytes = Self.canvas(header.length, payload: original[header.headerLength...], at: header.headerLength)
        bytes.withUnsafeMutableBytes { raw in
            let segment = MutableTCPSegment(formatting: raw, headerLength: header.headerLength)
            segment.sourcePort = header.sourcePort
            segment.destinationPort = header.destinationPort
            segment.sequenceNumber = header.sequenceNumber
            segment.acknowledgmentNumber = header.acknowledgmentNumber
            segment.reservedBits = header.reservedBits
            segment.flags = header.flags
            segment.window = header.window
            segment.urgentPointer = header.urgentPointer
            original[20..<header.headerLength].withUnsafeBytes { segment.optionBytes.copyMemory(from: $0) }
            segment.fillChecksum(pseudoHeader)
            #expect(segment.checksumIsValid(pseudoHeader))
        }
        #expect(bytes == original, "\(name)")
    }

    @Test(arguments: 0..<ICMPv4Tests.cases.count)
    func icmpv4Construct(index: Int) throws {
        let (name, load, offset, checksum, header) = ICMPv4Tests.cases[index]
        let original = Array(try load()[offset..<(offset + header.length)])
        var bytes = Self.canvas(header.length, payload: original[8...], at: 8)
        try bytes.withUnsafeMutableBytes { raw in
            let message = try MutableICMPv4Message(checking: raw)
            message.type = header.type
            message.code = header.code
            switch header.kind {
            case let .echoRequest(identifier, sequenceNumber), let .echoReply(identifier, sequenceNumber):
                message.identifier = identifier
                message.sequenceNumber = sequenceNumber
            case let .destinationUnreachable(_, nextHopMTU):
                message.identifier = 0
                message.nextHopMTU = nextHopMTU
            default:
                message.restOfHeader = header.restOfHeader
            }
            message.fillChecksum()
            #expect(message.checksum == checksum, "\(name)")
        }
        #expect(bytes == original, "\(name)")
    }

    @Test(arguments: 0..<ICMPv6Tests.cases.count)
    func icmpv6Construct(index: Int) throws {
        let (name, load, offset, checksum, pseudoHeader, header) = ICMPv6Tests.cases[index]
        let original = Array(try load()[offset..<(offset + header.length)])
        var bytes = Self.canvas(header.length, payload: original[8...], at: 8)
        try bytes.withUnsafeMutableBytes { raw in
            let message = try MutableICMPv6Message(checking: raw)
            message.type = header.type
            message.code = header.code
            switch header.kind {
            case let .packetTooBig(mtu): message.mtu = mtu
            case let .echoRequest(identifier, sequenceNumber), let .echoReply(identifier, sequenceNumber):
                message.identifier = identifier
                message.sequenceNumber = sequenceNumber
            default: message.restOfHeader = header.restOfHeader
            }
            message.fillChecksum(pseudoHeader)
            #expect(message.checksum == checksum, "\(name)")
            #expect(message.checksumIsValid(pseudoHeader))
        }
        #expect(bytes == original, "\(name)")
    }

    @Test(arguments: 0..<IPv6Tests.cases.count)
    func ipv6Construct(index: Int) throws {
        let (name, load, header, _, _) = IPv6Tests.cases[index]
        let frame = try load()
        let original = Array(frame[14..<(14 + 40 + header.payloadLength)])
        var bytes = Self.canvas(original.count, payload: original[40...], at: 40)
        bytes.withUnsafeMutableBytes { raw in
            let packet = MutableIPv6Packet(formatting: raw, payloadLength: header.payloadLength)
            packet.trafficClass = header.trafficClass
            packet.flowLabel = header.flowLabel
            packet.nextHeader = header.nextHeader
            packet.hopLimit = header.hopLimit
            packet.source = header.source
            packet.destination = header.destination
            #expect(packet.version == 6)
        }
        #expect(bytes == original, "\(name)")
    }

    /// Untagged frames are built from scratch; on tagged ones the EtherType setter writes after the tags.
    @Test(arguments: 0..<EthernetTests.cases.count)
    func ethernetConstruct(index: Int) throws {
        let (name, load, header) = EthernetTests.cases[index]
        let frame = try load()
        var bytes = frame
        if header.vlanTags.isEmpty {
            bytes.replaceSubrange(0..<14, with: [UInt8](repeating: 0xa5, count: 14))
        } else {
            bytes.replaceSubrange(0..<12, with: [UInt8](repeating: 0xa5, count: 12))
            bytes.replaceSubrange((header.headerLength - 2)..<header.headerLength, with: [0xa5, 0xa5])
        }
        try bytes.withUnsafeMutableBytes { raw in
            let view = header.vlanTags.isEmpty ? MutableEthernetFrame(formatting: raw)
                                               : try MutableEthernetFrame(checking: raw)
            view.destination = header.destination
            view.source = header.source
            view.etherType = header.etherType
            #expect(view.headerLength == header.headerLength)
            #expect(view.payloadOffset == header.headerLength)
        }
        #expect(bytes == frame, "\(name)")
    }

    // MARK: Each setter writes its own field only

    /// On random headers: a setter followed by `fillChecksum()` gives what emitting the changed value
    /// gives, byte for byte (so the setter wrote its field, all of it, and nothing else).
    @Test func ipv4SetterChangesOnlyItsField() throws {
        var random = SplitMix64(seed: 0x5e77e4)
        for round in 0..<3_000 {
            var header = Arbitrary.ipv4Header(using: &random)
            var bytes = emitted(header.totalLength) { header.emit(into: $0) }
            let field = round % 11
            try bytes.withUnsafeMutableBytes { raw in
                let packet = try MutableIPv4Packet(checking: raw)
                switch field {
                case 0: header.typeOfService = random.uint8(); packet.typeOfService = header.typeOfService
                case 1: header.identification = random.uint16(); packet.identification = header.identification
                case 2: header.reservedFlag.toggle(); packet.reservedFlag = header.reservedFlag
                case 3: header.dontFragment.toggle(); packet.dontFragment = header.dontFragment
                case 4: header.moreFragments.toggle(); packet.moreFragments = header.moreFragments
                case 5:
                    header.fragmentOffset = 8 * Int.random(in: 0...0x1FFF, using: &random)
                    packet.fragmentOffset = header.fragmentOffset
                case 6: header.timeToLive = random.uint8(); packet.timeToLive = header.timeToLive
                case 7: header.protocol = IPProtocol(rawValue: random.uint8()); packet.protocol = header.protocol
                case 8: header.source = random.ipv4Address(); packet.source = header.source
                case 9: header.destination = random.ipv4Address(); packet.destination = header.destination
                default:
                    // Shrink the datagram: the total length setter, within the buffer.
                    header.payloadLength = Int.random(in: 0...header.payloadLength, using: &random)
                    packet.totalLength = header.totalLength
                }
                packet.fillChecksum()
            }
            let expected = emitted(header.totalLength) { header.emit(into: $0) }
            #expect(Array(bytes[..<header.headerLength]) == Array(expected[..<header.headerLength]), "field \(field): \(header)")
        }
    }

    @Test func tcpAndUDPSettersChangeOnlyTheirField() throws {
        var random = SplitMix64(seed: 0x7c9)
        for round in 0..<2_000 {
            let pseudoHeader = Arbitrary.pseudoHeader(using: &random)
            var header = Arbitrary.tcpHeader(using: &random)
            var bytes = emitted(header.length) { header.emit(into: $0, checksum: pseudoHeader) }
            let field = round % 9
            try bytes.withUnsafeMutableBytes { raw in
                let segment = try MutableTCPSegment(checking: raw)
                switch field {
                case 0: header.sourcePort = random.uint16(); segment.sourcePort = header.sourcePort
                case 1: header.destinationPort = random.uint16(); segment.destinationPort = header.destinationPort
                case 2: header.sequenceNumber = random.uint32(); segment.sequenceNumber = header.sequenceNumber
                case 3:
                    header.acknowledgmentNumber = random.uint32()
                    segment.acknowledgmentNumber = header.acknowledgmentNumber
                case 4: header.reservedBits = random.uint8() & 0x0F; segment.reservedBits = header.reservedBits
                case 5: header.flags = TCPFlags(rawValue: random.uint8()); segment.flags = header.flags
                case 6: header.window = random.uint16(); segment.window = header.window
                case 7: header.urgentPointer = random.uint16(); segment.urgentPointer = header.urgentPointer
                default: segment.headerLength = header.headerLength   // rewriting the same value is harmless
                }
                segment.fillChecksum(pseudoHeader)
            }
            let payload = Array(bytes[header.headerLength...])
            var expected = [UInt8](repeating: 0xa5, count: header.headerLength) + payload
            expected.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
            #expect(bytes == expected, "field \(field): \(header)")
        }
        for round in 0..<2_000 {
            let pseudoHeader = Arbitrary.pseudoHeader(using: &random)
            var header = UDPHeader(sourcePort: random.uint16(), destinationPort: random.uint16(),
                                   payloadLength: Int.random(in: 0...64, using: &random))
            let payload = random.bytes(header.payloadLength)
            var bytes = [UInt8](repeating: 0xa5, count: 8) + payload
            bytes.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
            try bytes.withUnsafeMutableBytes { raw in
                let datagram = try MutableUDPDatagram(checking: raw)
                switch round % 3 {
                case 0: header.sourcePort = random.uint16(); datagram.sourcePort = header.sourcePort
                case 1: header.destinationPort = random.uint16(); datagram.destinationPort = header.destinationPort
                default:
                    header.payloadLength = Int.random(in: 0...header.payloadLength, using: &random)
                    datagram.length = header.length
                }
                datagram.fillChecksum(pseudoHeader)
            }
            var expected = [UInt8](repeating: 0xa5, count: 8) + payload
            expected.withUnsafeMutableBytes { header.emit(into: $0, checksum: pseudoHeader) }
            #expect(bytes == expected, "\(header)")
        }
    }

    @Test func ipv6SettersChangeOnlyTheirField() throws {
        var random = SplitMix64(seed: 0x6)
        for round in 0..<2_000 {
            var header = Arbitrary.ipv6Header(using: &random)
            var bytes = emitted(40 + header.payloadLength) { header.emit(into: $0) }
            try bytes.withUnsafeMutableBytes { raw in
                let packet = try MutableIPv6Packet(checking: raw)
                switch round % 7 {
                case 0: header.trafficClass = random.uint8(); packet.trafficClass = header.trafficClass
                case 1: header.flowLabel = random.uint32() & 0xF_FFFF; packet.flowLabel = header.flowLabel
                case 2:
                    header.payloadLength = Int.random(in: 0...header.payloadLength, using: &random)
                    packet.payloadLength = header.payloadLength
                case 3: header.nextHeader = IPProtocol(rawValue: random.uint8()); packet.nextHeader = header.nextHeader
                case 4: header.hopLimit = random.uint8(); packet.hopLimit = header.hopLimit
                case 5: header.source = random.ipv6Address(); packet.source = header.source
                default: header.destination = random.ipv6Address(); packet.destination = header.destination
                }
            }
            let expected = emitted(40) { header.emit(into: $0) }
            #expect(Array(bytes[..<40]) == expected, "\(header)")
        }
    }

    /// A version nibble written is read back; the IHL beside it is untouched.
    @Test func versionNibbles() throws {
        var bytes = try CapturedFrame.kernel("flannel-v4", 9)
        try bytes.withUnsafeMutableBytes { raw in
            let ipv4 = try MutableIPv4Packet(checking: raw.dropFirst(count: 14), frameOffset: 14)
            ipv4.version = 6
            #expect(ipv4.version == 6 && ipv4.headerLength == 20)
            ipv4.version = 4
        }
        #expect(bytes == (try CapturedFrame.kernel("flannel-v4", 9)))
    }

    // MARK: Bounds

    /// The setters of the fields that bound a header refuse values past the buffer: a programming error,
    /// so the process stops instead of writing out of bounds.
    @Test func ipv4TotalLengthPastTheBufferStops() async {
        await #expect(processExitsWith: .failure) {
            var bytes = [UInt8](repeating: 0, count: 40)
            bytes.withUnsafeMutableBytes { raw in
                let packet = MutableIPv4Packet(formatting: raw)
                packet.totalLength = 41
            }
        }
    }

    @Test func ipv4HeaderLengthPastTheTotalLengthStops() async {
        await #expect(processExitsWith: .failure) {
            var bytes = [UInt8](repeating: 0, count: 60)
            bytes.withUnsafeMutableBytes { raw in
                let packet = MutableIPv4Packet(formatting: raw, totalLength: 40)
                packet.headerLength = 44
            }
        }
    }

    @Test func udpLengthPastTheBufferStops() async {
        await #expect(processExitsWith: .failure) {
            var bytes = [UInt8](repeating: 0, count: 16)
            bytes.withUnsafeMutableBytes { raw in MutableUDPDatagram(formatting: raw).length = 17 }
        }
    }

    @Test func tcpHeaderLengthPastTheSegmentStops() async {
        await #expect(processExitsWith: .failure) {
            var bytes = [UInt8](repeating: 0, count: 24)
            bytes.withUnsafeMutableBytes { raw in MutableTCPSegment(formatting: raw).headerLength = 28 }
        }
    }

    @Test func ipv6PayloadLengthPastTheBufferStops() async {
        await #expect(processExitsWith: .failure) {
            var bytes = [UInt8](repeating: 0, count: 48)
            bytes.withUnsafeMutableBytes { raw in MutableIPv6Packet(formatting: raw).payloadLength = 9 }
        }
    }

    /// Checking a mutable view checks what the read-only view checks, with the same error.
    @Test func checkingMatchesTheReadOnlyView() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        for length in 14..<frame.count {
            var cut = Array(frame[..<length])
            let readOnly = decoding(cut, from: 14) { bytes in
                Result { () throws(DecodeError) in try IPv4Packet(checking: bytes, frameOffset: 14) }.map { _ in 0 }
            }
            let mutable = cut.withUnsafeMutableBytes { raw in
                Result { () throws(DecodeError) in try MutableIPv4Packet(checking: raw.dropFirst(count: 14), frameOffset: 14) }
                    .map { _ in 0 }
            }
            #expect(readOnly == mutable, "length \(length)")
        }
    }
}
