import PacketWire
import Testing

@Suite("Ethernet II and 802.1Q")
struct EthernetTests {
    static let nodeA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x01)
    static let nodeB = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0b, 0x01)

    /// The MAC headers of real frames with the values tshark shows (`eth.dst`, `eth.src`, `vlan.id`,
    /// `eth.type`): untagged from the kernel, 802.1Q and QinQ from odd.pcap frames 5 and 6.
    static let cases: [(name: String, frame: @Sendable () throws -> [UInt8], header: EthernetHeader)] = [
        ("untagged, flannel-v4 #9", { try CapturedFrame.kernel("flannel-v4", 9) },
         EthernetHeader(destination: nodeB, source: nodeA, etherType: .ipv4)),
        ("802.1Q VID 100, odd #5", { try CapturedFrame.odd(5) },
         EthernetHeader(destination: nodeB, source: nodeA, vlanTags: VLANTags([VLANTag(vlanID: 100)]),
                        etherType: .ipv4)),
        ("802.1ad VID 200 + 802.1Q VID 100, odd #6", { try CapturedFrame.odd(6) },
         EthernetHeader(destination: nodeB, source: nodeA,
                        vlanTags: VLANTags([VLANTag(tagProtocol: .serviceVLAN, vlanID: 200), VLANTag(vlanID: 100)]),
                        etherType: .ipv4)),
        ("ARP broadcast, odd #13", { try CapturedFrame.odd(13) },
         EthernetHeader(destination: .broadcast, source: nodeA, etherType: .arp)),
        ("IPv6, v6-underlay #7", { try CapturedFrame.kernel("v6-underlay", 7) },
         EthernetHeader(destination: nodeB, source: nodeA, etherType: .ipv6)),
        ("unknown EtherType 0x88b5, odd #17", { try CapturedFrame.odd(17) },
         EthernetHeader(destination: nodeB, source: nodeA, etherType: EtherType(rawValue: 0x88b5))),
    ]

    @Test(arguments: 0..<cases.count)
    func deconstruct(index: Int) throws {
        let (name, load, expected) = Self.cases[index]
        let frame = try load()
        try decoding(frame) { bytes in
            let view = try EthernetFrame(checking: bytes)
            #expect(view.destination == expected.destination, "\(name)")
            #expect(view.source == expected.source)
            #expect(view.etherType == expected.etherType)
            #expect(view.vlanTagCount == expected.vlanTags.count)
            #expect(Array(view.vlanTags) == Array(expected.vlanTags))
            #expect(view.headerLength == expected.headerLength)
            #expect(view.payloadOffset == expected.headerLength)
            #expect(view.payload.count == frame.count - expected.headerLength)
            #expect(EthernetHeader(view) == expected)
        }
    }

    @Test(arguments: 0..<cases.count)
    func construct(index: Int) throws {
        let (name, load, header) = Self.cases[index]
        let frame = try load()
        let bytes = emitted(header.headerLength) { header.emit(into: $0) }
        #expect(bytes == Array(frame[..<header.headerLength]), "\(name)")
    }

    @Test(arguments: 0..<cases.count)
    func roundTrip(index: Int) throws {
        let frame = try Self.cases[index].frame()
        let header = try decoding(frame) { bytes in EthernetHeader(try EthernetFrame(checking: bytes)) }
        let bytes = emitted(header.headerLength) { header.emit(into: $0) }
        #expect(bytes == Array(frame[..<header.headerLength]))
    }

    @Test func vlanTagFields() throws {
        // Priority 5, DEI set, VID 0xabc: TCI 0xbabc.
        let tag = VLANTag(priority: 5, dropEligible: true, vlanID: 0xabc)
        let header = EthernetHeader(destination: Self.nodeB, source: Self.nodeA, vlanTags: VLANTags([tag]),
                                    etherType: .ipv6)
        let bytes = emitted(18) { header.emit(into: $0) }
        #expect(Array(bytes[12...]) == [0x81, 0x00, 0xba, 0xbc, 0x86, 0xdd])
        let parsed = try decoding(bytes) { bytes in EthernetHeader(try EthernetFrame(checking: bytes)) }
        #expect(parsed == header)
        #expect(parsed.vlanTags[0].description == "vlan 2748 pcp 5 dei")
    }

    @Test func truncatedHeader() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        for length in 0..<14 {
            expectDecodeError(.truncated, .ethernet, at: 0) {
                _ = try decoding(Array(frame[..<length])) { bytes in try EthernetFrame(checking: bytes) }
            }
        }
    }

    /// A tag whose EtherType after it is cut: the error names the tag's offset in the frame.
    @Test(arguments: [(5, 17, 12), (6, 17, 12), (6, 21, 16)])
    func truncatedTag(oddFrame: Int, length: Int, offset: Int) throws {
        let frame = Array(try CapturedFrame.odd(oddFrame)[..<length])
        expectDecodeError(.truncated, .vlan, at: offset) {
            _ = try decoding(frame) { bytes in try EthernetFrame(checking: bytes) }
        }
    }

    @Test func thirdTagIsUnsupported() throws {
        let qinq = try CapturedFrame.odd(6)
        var frame = Array(qinq[..<20]) + [0x81, 0x00, 0x00, 0x05] + Array(qinq[20...])
        frame[20] = 0x81
        expectDecodeError(.unsupported, .vlan, at: 20) {
            _ = try decoding(frame) { bytes in try EthernetFrame(checking: bytes) }
        }
    }

    /// The inner frame of a VXLAN packet reports errors at its offset in the outer frame.
    @Test func innerFrameOffsets() throws {
        let frame = try CapturedFrame.kernel("flannel-v4", 9)
        try decoding(frame, from: 50) { bytes in
            let inner = try EthernetFrame(checking: bytes, frameOffset: 50)
            #expect(inner.source == MACAddress(0x02, 0x00, 0x00, 0x00, 0xaa, 0x01))
            #expect(inner.payloadOffset == 64)
        }
        expectDecodeError(.truncated, .ethernet, at: 50) {
            _ = try decoding(Array(frame[..<60]), from: 50) { bytes in
                try EthernetFrame(checking: bytes, frameOffset: 50)
            }
        }
    }

    @Test func descriptions() {
        #expect(EtherType.ipv4.description == "IPv4 - 0x0800")
        #expect(EtherType(rawValue: 0x88b5).description == "unknown - 0x88b5")
        let header = EthernetHeader(destination: .broadcast, source: Self.nodeA,
                                    vlanTags: VLANTags([VLANTag(vlanID: 100)]), etherType: .arp)
        #expect(header.description == "Ethernet 02:00:00:00:0a:01 > ff:ff:ff:ff:ff:ff [vlan 100 pcp 0] ARP - 0x0806")
    }
}
