import PacketWire
import Testing

@Suite("VXLAN header (RFC 7348 §5, VXLAN-GBP)")
struct VXLANHeaderTests {
    /// Real VXLAN headers with tshark's values (`vxlan.flags`, `vxlan.gbp`, `vxlan.vni`) and where each
    /// starts in its frame.
    static let cases: [(name: String, frame: @Sendable () throws -> [UInt8], offset: Int, flags: UInt8,
                        header: VXLANHeader)] = [
        ("flannel-v4 #9: VNI 1", { try CapturedFrame.kernel("flannel-v4", 9) }, 42, 0x08, VXLANHeader(vni: 1)),
        ("calico-v4 #8: VNI 4096", { try CapturedFrame.kernel("calico-v4", 8) }, 42, 0x08, VXLANHeader(vni: 4096)),
        ("v6-underlay #7: VNI 7", { try CapturedFrame.kernel("v6-underlay", 7) }, 62, 0x08, VXLANHeader(vni: 7)),
        ("gbp #6: kernel GBP, policy 2748", { try CapturedFrame.kernel("gbp", 6) }, 42, 0x88,
         VXLANHeader(vni: 42, groupPolicy: GroupPolicy(id: 2748))),
        ("odd #7: GBP with D and A", { try CapturedFrame.odd(7) }, 42, 0x88,
         VXLANHeader(vni: 42, groupPolicy: GroupPolicy(id: 2748, dontLearn: true, policyApplied: true))),
    ]

    @Test(arguments: 0..<cases.count)
    func deconstruct(index: Int) throws {
        let (name, load, offset, flags, expected) = Self.cases[index]
        let frame = try load()
        try decoding(frame, from: offset) { bytes in
            let packet = try VXLANPacket(checking: bytes, frameOffset: offset)
            #expect(packet.flags == flags, "\(name)")
            #expect(packet.hasVNI)
            #expect(packet.hasGroupPolicy == (expected.groupPolicy != nil))
            #expect(packet.vni == expected.vni)
            if let policy = expected.groupPolicy {
                #expect(packet.groupPolicyID == policy.id)
                #expect(packet.groupPolicyFlags == (policy.dontLearn ? 0x40 : 0) | (policy.policyApplied ? 0x08 : 0))
            }
            #expect(packet.payloadOffset == offset + 8)
            #expect(packet.payload.count == frame.count - offset - 8)
            #expect(try VXLANHeader(packet) == expected)
        }
    }

    @Test(arguments: 0..<cases.count)
    func construct(index: Int) throws {
        let (name, load, offset, _, header) = Self.cases[index]
        let frame = try load()
        #expect(emitted(8) { header.emit(into: $0) } == Array(frame[offset..<(offset + 8)]), "\(name)")
    }

    @Test(arguments: 0..<cases.count)
    func roundTrip(index: Int) throws {
        let (_, load, offset, _, _) = Self.cases[index]
        let frame = try load()
        let header = try decoding(frame, from: offset) { bytes in
            try VXLANHeader(try VXLANPacket(checking: bytes, frameOffset: offset))
        }
        #expect(emitted(8) { header.emit(into: $0) } == Array(frame[offset..<(offset + 8)]))
    }

    /// odd.pcap frame 1: flags 0x00. RFC 7348 §5: the I flag must be set.
    @Test func iFlagClear() throws {
        let frame = try CapturedFrame.odd(1)
        expectDecodeError(.badValue, .vxlan, at: 42) {
            _ = try decoding(frame, from: 42) { bytes in
                try VXLANHeader(try VXLANPacket(checking: bytes, frameOffset: 42))
            }
        }
    }

    /// RFC 7348 §5: reserved bits are ignored on receipt.
    @Test func reservedBitsIgnored() throws {
        let frame = patched(try CapturedFrame.kernel("flannel-v4", 9), at: 42,
                            with: [0x0f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0xff])
        let header = try decoding(frame, from: 42) { bytes in
            try VXLANHeader(try VXLANPacket(checking: bytes, frameOffset: 42))
        }
        #expect(header == VXLANHeader(vni: 1))
    }

    @Test func truncation() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        for length in 42..<50 {
            expectDecodeError(.truncated, .vxlan, at: 42) {
                _ = try decoding(Array(frame[..<length]), from: 42) { bytes in
                    try VXLANPacket(checking: bytes, frameOffset: 42)
                }
            }
        }
    }

    @Test func vniIsTwentyFourBits() {
        let header = VXLANHeader(vni: 0x1ff_ffff)
        #expect(header.vni == 0xff_ffff)
        #expect(emitted(8) { header.emit(into: $0) } == [0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0x00])
    }

    @Test func description() {
        #expect(Self.cases[4].header.description == "VXLAN vni 42 gbp 2748 D A")
    }
}
