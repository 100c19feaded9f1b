import Foundation
import PacketWire
import TestFixtures
import Testing

/// Random valid headers, drawn from a seeded generator so every run sees the same ones.
enum Arbitrary {
    static func ethernetHeader(using random: inout some RandomNumberGenerator) -> EthernetHeader {
        let tagProtocols: [EtherType] = [.vlan, .serviceVLAN, EtherType(rawValue: 0x9100)]
        let tags = (0..<Int.random(in: 0...2, using: &random)).map { _ in
            VLANTag(tagProtocol: tagProtocols.randomElement(using: &random)!, priority: random.uint8(),
                    dropEligible: random.bool(), vlanID: random.uint16())
        }
        var etherType = EtherType(rawValue: random.uint16())
        while etherType.isVLANTag { etherType = EtherType(rawValue: random.uint16()) }
        return EthernetHeader(destination: random.macAddress(), source: random.macAddress(), vlanTags: VLANTags(tags),
                              etherType: etherType)
    }

    static func ipv4Header(using random: inout some RandomNumberGenerator) -> IPv4Header {
        IPv4Header(typeOfService: random.uint8(), identification: random.uint16(), reservedFlag: random.bool(),
                   dontFragment: random.bool(), moreFragments: random.bool(),
                   fragmentOffset: 8 * Int.random(in: 0...0x1FFF, using: &random), timeToLive: random.uint8(),
                   protocol: IPProtocol(rawValue: random.uint8()), source: random.ipv4Address(),
                   destination: random.ipv4Address(),
                   options: IPv4Options(random.bool() ? [] : random.bytes(4 * Int.random(in: 1...10, using: &random))),
                   payloadLength: Int.random(in: 0...64, using: &random))
    }

    static func ipv6Header(using random: inout some RandomNumberGenerator) -> IPv6Header {
        IPv6Header(trafficClass: random.uint8(), flowLabel: random.uint32(),
                   payloadLength: Int.random(in: 0...64, using: &random),
                   nextHeader: IPProtocol(rawValue: random.uint8()),
                   hopLimit: random.uint8(), source: random.ipv6Address(), destination: random.ipv6Address())
    }

    static func pseudoHeader(using random: inout some RandomNumberGenerator) -> PseudoHeader {
        random.bool() ? .ipv4(source: random.ipv4Address(), destination: random.ipv4Address())
                      : .ipv6(source: random.ipv6Address(), destination: random.ipv6Address())
    }

    static func vxlanHeader(using random: inout some RandomNumberGenerator) -> VXLANHeader {
        let policy = random.bool() ? nil : GroupPolicy(id: random.uint16(), dontLearn: random.bool(),
                                                        policyApplied: random.bool())
        return VXLANHeader(vni: random.uint32(), groupPolicy: policy)
    }

    static func arpMessage(using random: inout some RandomNumberGenerator) -> ARPMessage {
        let operation: ARPOperation = [.request, .reply, ARPOperation(rawValue: random.uint16())]
            .randomElement(using: &random)!
        return ARPMessage(operation: operation, senderHardwareAddress: random.macAddress(),
                          senderProtocolAddress: random.ipv4Address(), targetHardwareAddress: random.macAddress(),
                          targetProtocolAddress: random.ipv4Address())
    }

    /// Up to 40 bytes of options in random order, ended with End of Option List when they do not fill
    /// their last word (the zero padding would read back as one).
    static func tcpOptions(using random: inout some RandomNumberGenerator) -> [TCPOption] {
        var options: [TCPOption] = []
        var length = 0
        for _ in 0..<Int.random(in: 0...8, using: &random) {
            let option: TCPOption = switch Int.random(in: 0..<7, using: &random) {
            case 0: .noOperation
            case 1: .maximumSegmentSize(random.uint16())
            case 2: .windowScale(random.uint8())
            case 3: .sackPermitted
            case 4: .selectiveAcknowledgment((0..<Int.random(in: 1...4, using: &random)).map { _ in
                    TCPSACKBlock(leftEdge: random.uint32(), rightEdge: random.uint32())
                })
            case 5: .timestamps(value: random.uint32(), echoReply: random.uint32())
            default:
                .unknown(kind: [6, 7, 9, 19, 28, 29, 30, 34, 253, 254].randomElement(using: &random)!,
                         data: random.bytes(Int.random(in: 0...6, using: &random)))
            }
            guard length + option.encodedLength <= 40 else { continue }
            options.append(option)
            length += option.encodedLength
        }
        if length % 4 != 0 { options.append(.endOfOptionList) }
        return options
    }

    static func tcpHeader(using random: inout some RandomNumberGenerator) -> TCPHeader {
        TCPHeader(sourcePort: random.uint16(), destinationPort: random.uint16(), sequenceNumber: random.uint32(),
                  acknowledgmentNumber: random.uint32(), flags: TCPFlags(rawValue: random.uint8()),
                  reservedBits: random.uint8(), window: random.uint16(), urgentPointer: random.uint16(),
                  options: tcpOptions(using: &random), payloadLength: Int.random(in: 0...64, using: &random))
    }

    static func icmpv4Header(using random: inout some RandomNumberGenerator) -> ICMPv4Header {
        let kind: ICMPv4Header.Kind
        switch Int.random(in: 0..<5, using: &random) {
        case 0: kind = .echoRequest(identifier: random.uint16(), sequenceNumber: random.uint16())
        case 1: kind = .echoReply(identifier: random.uint16(), sequenceNumber: random.uint16())
        case 2:
            kind = .destinationUnreachable(ICMPv4UnreachableCode(rawValue: random.uint8()),
                                           nextHopMTU: random.uint16())
        case 3: kind = .timeExceeded(ICMPv4TimeExceededCode(rawValue: random.uint8()))
        default:
            // Types with a case of their own are not "other", nor is an echo with code 0.
            var type = random.uint8()
            if type == 3 || type == 11 { type = 42 }
            var code = random.uint8()
            if (type == 0 || type == 8) && code == 0 { code = 1 }
            kind = .other(type: ICMPv4Type(rawValue: type), code: code, restOfHeader: random.uint32())
        }
        return ICMPv4Header(kind, payloadLength: Int.random(in: 0...64, using: &random))
    }

    static func icmpv6Header(using random: inout some RandomNumberGenerator) -> ICMPv6Header {
        let kind: ICMPv6Header.Kind
        switch Int.random(in: 0..<6, using: &random) {
        case 0: kind = .echoRequest(identifier: random.uint16(), sequenceNumber: random.uint16())
        case 1: kind = .echoReply(identifier: random.uint16(), sequenceNumber: random.uint16())
        case 2: kind = .destinationUnreachable(ICMPv6UnreachableCode(rawValue: random.uint8()))
        case 3: kind = .packetTooBig(mtu: random.uint32())
        case 4: kind = .timeExceeded(ICMPv6TimeExceededCode(rawValue: random.uint8()))
        default:
            var type = random.uint8()
            if (1...3).contains(type) { type = 4 }
            var code = random.uint8()
            if (type == 128 || type == 129) && code == 0 { code = 1 }
            kind = .other(type: ICMPv6Type(rawValue: type), code: code, restOfHeader: random.uint32())
        }
        return ICMPv6Header(kind, payloadLength: Int.random(in: 0...64, using: &random))
    }
}

@Suite("Properties: round trips and hostile input")
struct PropertyTests {
    /// Random values per round-trip property. Each loop stops at its first failure, so a broken codec
    /// reports once, not thousands of times.
    static let iterations = 2_000

    /// A buffer of `length` random bytes (the payload a checksum covers) with `header` emitted at its start.
    private static func emittedOverPayload(
        _ length: Int, headerLength: Int, using random: inout SplitMix64,
        _ emit: (UnsafeMutableRawBufferPointer) -> Void
    ) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xa5, count: headerLength) + random.bytes(length - headerLength)
        bytes.withUnsafeMutableBytes { emit($0) }
        return bytes
    }

    // MARK: parse(emit(x)) == x

    @Test func ethernet() throws {
        var random = SplitMix64(seed: 1)
        for _ in 0..<Self.iterations {
            let header = Arbitrary.ethernetHeader(using: &random)
            let bytes = emitted(header.headerLength) { header.emit(into: $0) }
            let parsed = try decoding(bytes) { bytes in EthernetHeader(try EthernetFrame(checking: bytes)) }
            #expect(parsed == header)
            if parsed != header { break }
        }
    }

    @Test func ipv4() throws {
        var random = SplitMix64(seed: 2)
        for _ in 0..<Self.iterations {
            let header = Arbitrary.ipv4Header(using: &random)
            let bytes = Self.emittedOverPayload(header.totalLength, headerLength: header.headerLength, using: &random) {
                header.emit(into: $0)
            }
            let parsed = try decoding(bytes) { bytes in try IPv4Header(try IPv4Packet(checking: bytes)) }
            #expect(parsed == header)
            if parsed != header { break }
        }
    }

    @Test func ipv6() throws {
        var random = SplitMix64(seed: 3)
        for _ in 0..<Self.iterations {
            let header = Arbitrary.ipv6Header(using: &random)
            let bytes = Self.emittedOverPayload(40 + header.payloadLength, headerLength: 40, using: &random) {
                header.emit(into: $0)
            }
            let parsed = try decoding(bytes) { bytes in IPv6Header(try IPv6Packet(checking: bytes)) }
            #expect(parsed == header)
            if parsed != header { break }
        }
    }

    @Test func udp() throws {
        var random = SplitMix64(seed: 4)
        for _ in 0..<Self.iterations {
            let header = UDPHeader(sourcePort: random.uint16(), destinationPort: random.uint16(),
                                   payloadLength: Int.random(in: 0...64, using: &random))
            let pseudoHeader = random.bool() ? Arbitrary.pseudoHeader(using: &random) : nil
            let bytes = Self.emittedOverPayload(header.length, headerLength: 8, using: &random) {
                header.emit(into: $0, checksum: pseudoHeader)
            }
            let parsed = try decoding(bytes) { bytes in
                try UDPHeader(try UDPDatagram(checking: bytes), verifyingWith: pseudoHeader)
            }
            #expect(parsed == header)
            if parsed != header { break }
        }
    }

    @Test func tcp() throws {
        var random = SplitMix64(seed: 5)
        for _ in 0..<Self.iterations {
            let header = Arbitrary.tcpHeader(using: &random)
            let pseudoHeader = Arbitrary.pseudoHeader(using: &random)
            let bytes = Self.emittedOverPayload(header.length, headerLength: header.headerLength, using: &random) {
                header.emit(into: $0, checksum: pseudoHeader)
            }
            let parsed = try decoding(bytes) { bytes in
                try TCPHeader(try TCPSegment(checking: bytes), verifyingWith: pseudoHeader)
            }
            #expect(parsed == header)
            if parsed != header { break }
        }
    }

    @Test func vxlan() throws {
        var random = SplitMix64(seed: 6)
        for _ in 0..<Self.iterations {
            let header = Arbitrary.vxlanHeader(using: &random)
            let bytes = emitted(8) { header.emit(into: $0) }
            let parsed = try decoding(bytes) { bytes in try VXLANHeader(try VXLANPacket(checking: bytes)) }
            #expect(parsed == header)
            if parsed != header { break }
        }
    }

    @Test func icmpv4() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<Self.iterations {
            let header = Arbitrary.icmpv4Header(using: &random)
            let bytes = Self.emittedOverPayload(header.length, headerLength: 8, using: &random) { header.emit(into: $0) }
            let parsed = try decoding(bytes) { bytes in try ICMPv4Header(try ICMPv4Message(checking: bytes)) }
            #expect(parsed == header)
            if parsed != header { break }
        }
    }

    @Test func icmpv6() throws {
        var random = SplitMix64(seed: 8)
        for _ in 0..<Self.iterations {
            let header = Arbitrary.icmpv6Header(using: &random)
            let pseudoHeader = PseudoHeader.ipv6(source: random.ipv6Address(), destination: random.ipv6Address())
            let bytes = Self.emittedOverPayload(header.length, headerLength: 8, using: &random) {
                header.emit(into: $0, checksum: pseudoHeader)
            }
            let parsed = try decoding(bytes) { bytes in
                try ICMPv6Header(try ICMPv6Message(checking: bytes), verifyingWith: pseudoHeader)
            }
            #expect(parsed == header)
            if parsed != header { break }
        }
    }

    @Test func arp() throws {
        var random = SplitMix64(seed: 9)
        for _ in 0..<Self.iterations {
            let message = Arbitrary.arpMessage(using: &random)
            let bytes = emitted(ARPMessage.length) { message.emit(into: $0) }
            let parsed = try decoding(bytes) { bytes in try ARPMessage(try ARPPacket(checking: bytes)) }
            #expect(parsed == message)
            if parsed != message { break }
        }
    }

    // MARK: whole frames through the decode walk

    /// Every frame the kernel sent decodes without an error, VXLAN and inner frame included.
    @Test(arguments: Fixtures.kernelScenarios)
    func everyKernelFrameDecodes(scenario: String) throws {
        for (index, record) in try Fixtures.kernelCapture(scenario).enumerated() {
            let walk = DecodeWalk.decode(record.bytes)
            #expect(walk.error == nil, "\(scenario) frame \(index + 1): \(walk.layers) \(String(describing: walk.error))")
        }
    }

    @Test func walkOfAVXLANFrame() throws {
        let walk = DecodeWalk.decode(try CapturedFrame.kernel("flannel-v4", 9))
        #expect(walk.error == nil)
        #expect(walk.layers == [
            "Ethernet 02:00:00:00:0a:01 > 02:00:00:00:0b:01 IPv4 - 0x0800",
            "IPv4 192.0.2.1 > 192.0.2.2 UDP ttl 64 id 61586 len 134",
            "UDP 51736 > 8472 len 114",
            "VXLAN vni 1",
            "Ethernet 02:00:00:00:aa:01 > 02:00:00:00:bb:01 IPv4 - 0x0800",
            "IPv4 10.244.0.5 > 10.244.1.7 ICMP ttl 63 id 28409 len 84 DF",
            "ICMP echo request id 7326 seq 1 len 64",
        ])
    }

    /// Every prefix of every kernel frame fails with `truncated` at an offset inside the prefix, and
    /// never traps.
    @Test(arguments: Fixtures.kernelScenarios)
    func everyTruncationOfEveryKernelFrame(scenario: String) throws {
        var prefixes = 0
        for (index, record) in try Fixtures.kernelCapture(scenario).enumerated() {
            for length in 0..<record.bytes.count {
                prefixes += 1
                let walk = DecodeWalk.decode(Array(record.bytes[..<length]))
                guard let error = walk.error else {
                    Issue.record("\(scenario) frame \(index + 1) cut to \(length) bytes decoded: \(walk.layers)")
                    continue
                }
                #expect(error.code == .truncated, "\(scenario) frame \(index + 1) cut to \(length): \(error)")
                #expect(error.offset <= length, "\(scenario) frame \(index + 1) cut to \(length): \(error)")
            }
        }
        #expect(prefixes > 3_000, "\(scenario) has fewer frames than expected")
    }

    /// odd.pcap decodes as odd/INDEX.md describes: frames a, b, c and o fail where their flaw is; every
    /// other frame decodes.
    @Test func oddFramesStopWhereTheirFlawIs() throws {
        let expected: [Int: (DecodeError.Code, Layer, Int)] = [
            1: (.badValue, .vxlan, 42),
            2: (.badChecksum, .udp, 40),
            3: (.badChecksum, .ipv4, 24),
            16: (.truncated, .ipv4, 16),
        ]
        let records = try CapturedFrame.oddCapture()
        #expect(records.count == 17)
        for (index, record) in records.enumerated() {
            let walk = DecodeWalk.decode(record.bytes)
            if let (code, layer, offset) = expected[index + 1] {
                #expect(walk.error?.code == code, "frame \(index + 1)")
                #expect(walk.error?.layer == layer, "frame \(index + 1)")
                #expect(walk.error?.offset == offset, "frame \(index + 1)")
            } else {
                #expect(walk.error == nil, "frame \(index + 1): \(String(describing: walk.error))")
            }
        }
    }

    /// 10,000 seeded random byte strings. Three in four get a known EtherType and a matching IP version
    /// nibble so the walk goes past Ethernet; half are decoded without checksum checks so they go further.
    @Test func randomByteStrings() {
        var random = SplitMix64(seed: 0x5EED)
        let etherTypes: [(UInt16, UInt8)] = [(0x0800, 0x45), (0x86dd, 0x60), (0x0806, 0x00), (0x8100, 0x08)]
        var decoded = 0
        for iteration in 0..<10_000 {
            var bytes = random.bytes(Int.random(in: 0...600, using: &random))
            if bytes.count > 14, Int.random(in: 0..<4, using: &random) != 0 {
                let (etherType, first) = etherTypes.randomElement(using: &random)!
                bytes[12] = UInt8(etherType >> 8)
                bytes[13] = UInt8(etherType & 0xff)
                if first != 0 { bytes[14] = first | (bytes[14] & 0x0f) }
            }
            let walk = DecodeWalk.decode(bytes, verifyChecksums: iteration % 2 == 0)
            if let error = walk.error {
                #expect(error.offset <= bytes.count)
            } else {
                decoded += 1
            }
        }
        #expect(decoded > 0)
    }

    /// Kernel frames with one to four bytes changed, decoded with and without checksum checks: an error or
    /// a value, never a trap.
    @Test func mutatedKernelFrames() throws {
        var random = SplitMix64(seed: 0xF1A9)
        var frames: [[UInt8]] = []
        for scenario in Fixtures.kernelScenarios {
            frames += try Fixtures.kernelCapture(scenario).map(\.bytes)
        }
        for iteration in 0..<10_000 {
            var bytes = frames.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = random.uint8()
            }
            let walk = DecodeWalk.decode(bytes, verifyChecksums: iteration % 2 == 0)
            if let error = walk.error { #expect(error.offset <= bytes.count) }
        }
    }
}
