import Firewall
import PacketWire
import Testing

@Suite("Packet fields")
struct PacketFieldsTests {
    @Test("a Flannel VXLAN frame from the kernel: outer UDP 8472, and inside it VNI 1 and the pod's ICMP echo")
    func flannelFrame() throws {
        let frame = try TestFrames.kernel("flannel-v4", 9)
        let fields = frame.withUnsafeBytes { PacketFields(parsing: $0, vxlanPorts: [8472]) }
        #expect(fields.isIP && fields.protocol == .udp)
        #expect(fields.source == IPAddress("192.0.2.1") && fields.destination == IPAddress("192.0.2.2"))
        #expect(fields.sourcePort == 51736 && fields.destinationPort == 8472)
        #expect(fields.ipLength == 134 && !fields.isFragment)
        let inner = try #require(fields.encapsulated)
        #expect(inner.vni == 1 && inner.flags == 0x08)
        #expect(inner.innerSource == IPAddress("10.244.0.5") && inner.innerDestination == IPAddress("10.244.1.7"))
        #expect(inner.innerProtocol == .icmp && inner.innerICMPType == 8)
        let outerOnly = frame.withUnsafeBytes { PacketFields(parsing: $0) }
        #expect(outerOnly.encapsulated == nil, "a device that does not look inside sees only the outer headers")
    }

    @Test("outer fragments: the first carries the ports, the second has none")
    func fragments() throws {
        let first = try TestFrames.kernel("frag-v4", 11).withUnsafeBytes { PacketFields(parsing: $0) }
        let second = try TestFrames.kernel("frag-v4", 12).withUnsafeBytes { PacketFields(parsing: $0) }
        #expect(first.isFragment && first.moreFragments && first.fragmentOffset == 0 && first.hasTransportHeader)
        #expect(first.destinationPort == 4789)
        #expect(second.isNonFirstFragment && second.fragmentOffset == 1376 && !second.hasTransportHeader)
        #expect(first.identification == second.identification)
    }

    @Test("an ICMP fragmentation needed quotes the packet it is about")
    func quoted() throws {
        let offending = TestFrames.udp(from: "192.0.2.1", 40000, to: "192.0.2.2", 8472, payload: 1450, dontFragment: true)
        let icmp = TestFrames.fragmentationNeeded(from: "198.51.100.1", about: offending, mtu: 1400)
        let fields = icmp.withUnsafeBytes { PacketFields(parsing: $0) }
        #expect(fields.isICMPError && fields.reportedMTU == 1400)
        let quoted = try #require(fields.quoted)
        #expect(quoted.destinationPort == 8472 && quoted.source == IPAddress("192.0.2.1") && quoted.length == 1478)
    }

    @Test("truncated and non-IP frames give empty fields, never a crash", arguments: [0, 1, 13, 14, 20, 33, 41])
    func truncated(length: Int) throws {
        let frame = try TestFrames.kernel("flannel-v4", 9)
        let fields = Array(frame.prefix(length)).withUnsafeBytes { PacketFields(parsing: $0, vxlanPorts: [8472]) }
        #expect(!fields.hasTransportHeader)
    }
}
