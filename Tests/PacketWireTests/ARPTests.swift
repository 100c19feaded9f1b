import PacketWire
import Testing

@Suite("ARP (RFC 826)")
struct ARPTests {
    /// flannel-v4 frame 7 from byte 14 (odd.pcap frame 13 is the same): who-has 192.0.2.2 tell 192.0.2.1,
    /// as the Linux kernel sent it, with a zero target hardware address.
    static let requestBytes: [UInt8] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x00, 0x00, 0x00, 0x0a, 0x01, 0xc0, 0x00, 0x02, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x02,
    ]
    /// flannel-v4 frame 8 from byte 14: 192.0.2.2 is-at 02:00:00:00:0b:01.
    static let replyBytes: [UInt8] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
        0x02, 0x00, 0x00, 0x00, 0x0b, 0x01, 0xc0, 0x00, 0x02, 0x02,
        0x02, 0x00, 0x00, 0x00, 0x0a, 0x01, 0xc0, 0x00, 0x02, 0x01,
    ]

    static let macA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x01)
    static let macB = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0b, 0x01)
    static let request = ARPMessage(operation: .request, senderHardwareAddress: macA,
                                    senderProtocolAddress: IPv4Address(192, 0, 2, 1),
                                    targetProtocolAddress: IPv4Address(192, 0, 2, 2))
    static let reply = ARPMessage(operation: .reply, senderHardwareAddress: macB,
                                  senderProtocolAddress: IPv4Address(192, 0, 2, 2), targetHardwareAddress: macA,
                                  targetProtocolAddress: IPv4Address(192, 0, 2, 1))
    static let cases = [(requestBytes, request), (replyBytes, reply)]

    @Test func literalsAreTheCapturedBytes() throws {
        #expect(Array(try CapturedFrame.kernel("flannel-v4", 7)[14...]) == Self.requestBytes)
        #expect(Array(try CapturedFrame.kernel("flannel-v4", 8)[14...]) == Self.replyBytes)
        #expect(Array(try CapturedFrame.odd(13)[14...]) == Self.requestBytes)
        #expect(Array(try CapturedFrame.odd(14)[14...]) == Self.replyBytes)
    }

    /// Every field against tshark (`arp.hw.type`, `arp.proto.type`, `arp.hw.size`, `arp.proto.size`,
    /// `arp.opcode`, `arp.src.hw_mac`, `arp.src.proto_ipv4`, `arp.dst.hw_mac`, `arp.dst.proto_ipv4`).
    @Test(arguments: [0, 1])
    func deconstruct(index: Int) throws {
        let (bytes, expected) = Self.cases[index]
        try decoding(bytes) { bytes in
            let packet = try ARPPacket(checking: bytes, frameOffset: 14)
            #expect(packet.hardwareType == .ethernet)
            #expect(packet.protocolType == .ipv4)
            #expect(packet.hardwareAddressLength == 6)
            #expect(packet.protocolAddressLength == 4)
            #expect(packet.operation == expected.operation)
            #expect(packet.senderHardwareAddress == expected.senderHardwareAddress)
            #expect(packet.senderProtocolAddress == expected.senderProtocolAddress)
            #expect(packet.targetHardwareAddress == expected.targetHardwareAddress)
            #expect(packet.targetProtocolAddress == expected.targetProtocolAddress)
            #expect(try ARPMessage(packet) == expected)
        }
    }

    @Test(arguments: [0, 1])
    func construct(index: Int) {
        let (bytes, message) = Self.cases[index]
        #expect(emitted(ARPMessage.length) { message.emit(into: $0) } == bytes)
    }

    @Test(arguments: [0, 1])
    func roundTrip(index: Int) throws {
        let bytes = Self.cases[index].0
        let message = try decoding(bytes) { bytes in try ARPMessage(try ARPPacket(checking: bytes)) }
        #expect(emitted(ARPMessage.length) { message.emit(into: $0) } == bytes)
    }

    /// Ethernet pads an ARP packet to 46 bytes of payload; the padding is ignored.
    @Test func paddingIgnored() throws {
        let padded = Self.requestBytes + [UInt8](repeating: 0, count: 18)
        #expect(try decoding(padded) { bytes in try ARPMessage(try ARPPacket(checking: bytes)) } == Self.request)
    }

    /// Cut before the address sizes are known: 8 bytes needed; after: 28. Both at the packet's start.
    @Test func truncation() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 7)
        for length in 14..<frame.count {
            expectDecodeError(.truncated, .arp, at: 14) {
                _ = try decoding(Array(frame[..<length]), from: 14) { bytes in
                    try ARPPacket(checking: bytes, frameOffset: 14)
                }
            }
        }
    }

    @Test(arguments: [(4, UInt8(8), 18), (5, UInt8(16), 19)])
    func otherAddressSizesAreUnsupported(field: Int, size: UInt8, offset: Int) throws {
        let frame = patched(try CapturedFrame.kernel("flannel-v4", 7), at: 14 + field, with: [size])
        expectDecodeError(.unsupported, .arp, at: offset) {
            _ = try decoding(frame, from: 14) { bytes in try ARPPacket(checking: bytes, frameOffset: 14) }
        }
    }

    @Test(arguments: [(0, [UInt8(0x00), 0x06], 14), (2, [UInt8(0x86), 0xdd], 16)])
    func otherHardwareOrProtocolTypesAreUnsupported(field: Int, value: [UInt8], offset: Int) throws {
        let frame = patched(try CapturedFrame.kernel("flannel-v4", 7), at: 14 + field, with: value)
        expectDecodeError(.unsupported, .arp, at: offset) {
            _ = try decoding(frame, from: 14) { bytes in
                try ARPMessage(try ARPPacket(checking: bytes, frameOffset: 14))
            }
        }
    }

    /// Operation codes nobody named (RFC 5494 reserves some for experiments) are kept, not rejected.
    @Test func unknownOperationIsKept() throws {
        let bytes = patched(Self.requestBytes, at: 6, with: [0x00, 0x18])
        let message = try decoding(bytes) { bytes in try ARPMessage(try ARPPacket(checking: bytes)) }
        #expect(message.operation == ARPOperation(rawValue: 24))
        #expect(message.operation.description == "unknown - 24")
        #expect(emitted(ARPMessage.length) { message.emit(into: $0) } == bytes)
    }

    @Test func descriptions() {
        #expect(Self.request.description == "ARP request who-has 192.0.2.2 tell 192.0.2.1")
        #expect(Self.reply.description == "ARP reply 192.0.2.2 is-at 02:00:00:00:0b:01")
        #expect(ARPOperation.reply.description == "reply - 2")
    }
}
