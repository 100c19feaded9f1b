import Foundation
import PacketWire
import TestFixtures
import Testing
@testable import VXLAN

/// Options of `ip link ... type vxlan` and the checks of `vxlan_rcv`, one behaviour per test.
@Suite("Tunnel endpoint")
struct TunnelEndpointTests {
    static let local = IPv4Address(192, 0, 2, 1)
    static let remote = IPv4Address(192, 0, 2, 2)

    static func device(_ change: (inout TunnelConfiguration) -> Void = { _ in }) -> TunnelConfiguration {
        var configuration = TunnelConfiguration(vni: 42, local: .v4(local), remote: .v4(remote),
                                                underlaySourceMAC: MACAddress("02:00:00:00:0a:01")!,
                                                underlayNextHopMAC: MACAddress("02:00:00:00:0b:01")!)
        change(&configuration)
        return configuration
    }

    /// An inner Ethernet/IPv4/UDP frame with the given TOS, TTL, DF and ports, checksums filled.
    static func innerFrame(tos: UInt8 = 0, ttl: UInt8 = 63, dontFragment: Bool = false,
                           sourcePort: UInt16 = 40000, destinationPort: UInt16 = 53, payload: Int = 22) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 14 + 20 + 8 + payload)
        bytes.withUnsafeMutableBytes { raw in
            EthernetHeader(destination: MACAddress("02:00:00:00:c1:01")!, source: MACAddress("02:00:00:00:c0:01")!,
                           etherType: .ipv4).emit(into: raw)
            for index in 0..<payload { raw[42 + index] = UInt8(truncatingIfNeeded: index) }
            let source = IPv4Address(10, 244, 0, 5), destination = IPv4Address(10, 244, 1, 7)
            UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload)
                .emit(into: raw.slice(34..<raw.count), checksum: .ipv4(source: source, destination: destination))
            IPv4Header(typeOfService: tos, dontFragment: dontFragment, timeToLive: ttl, protocol: .udp,
                       source: source, destination: destination, payloadLength: 8 + payload)
                .emit(into: raw.slice(14..<34))
        }
        return bytes
    }

    func encapsulate(_ inner: [UInt8], _ configuration: TunnelConfiguration, groupPolicyID: UInt16 = 0) throws -> [UInt8] {
        var endpoint = TunnelEndpoint(configuration: configuration)
        let buffer = PacketBuffer(copying: inner)
        try endpoint.encapsulate(buffer, groupPolicyID: groupPolicyID)
        return buffer.bytes
    }

    // MARK: Encapsulation options

    @Test("the inner frame is not moved: only headroom is written")
    func encapsulatesInPlace() throws {
        let inner = Self.innerFrame()
        let buffer = PacketBuffer(copying: inner)
        let innerStart = buffer.readableBytes.baseAddress
        var endpoint = TunnelEndpoint(configuration: Self.device())
        try endpoint.encapsulate(buffer)
        #expect(buffer.count == inner.count + 50)
        #expect(buffer.readableBytes.baseAddress == innerStart.map { $0 - 50 })
        #expect(Array(buffer.bytes[50...]) == inner)
    }

    @Test("too little headroom is refused and leaves the buffer unchanged")
    func refusesWithoutHeadroom() {
        let inner = Self.innerFrame()
        let buffer = PacketBuffer(copying: inner, headroom: 49)
        var endpoint = TunnelEndpoint(configuration: Self.device())
        let error = #expect(throws: EncapsulationError.self) { try endpoint.encapsulate(buffer) }
        #expect(error?.code == .insufficientHeadroom)
        #expect(buffer.bytes == inner && buffer.headroom == 49)
        #expect(endpoint.nextIdentification == 0, "a refused packet consumes no IP ID")
    }

    @Test("ttl auto is 64, ttl inherit copies the inner TTL, ttl N is N")
    func timeToLive() throws {
        let inner = Self.innerFrame(ttl: 9)
        #expect(try encapsulate(inner, Self.device())[22] == 64)
        #expect(try encapsulate(inner, Self.device { $0.ttl = .inherit })[22] == 9)
        #expect(try encapsulate(inner, Self.device { $0.ttl = .fixed(17) })[22] == 17)
    }

    @Test("tos: fixed or inherited DSCP; ECN always from the inner header, CE sent as ECT(0)")
    func typeOfService() throws {
        #expect(try encapsulate(Self.innerFrame(tos: 0xB8), Self.device())[15] == 0x00)
        #expect(try encapsulate(Self.innerFrame(tos: 0xB8), Self.device { $0.tos = .inherit })[15] == 0xB8)
        #expect(try encapsulate(Self.innerFrame(tos: 0x01), Self.device { $0.tos = .fixed(0x28) })[15] == 0x29)
        #expect(try encapsulate(Self.innerFrame(tos: 0xB8 | 0x3), Self.device { $0.tos = .inherit })[15] == 0xBA)
    }

    @Test("df unset, set, and inherit from the inner IPv4 DF bit")
    func dontFragment() throws {
        func df(_ frame: [UInt8]) -> Bool { frame[20] & 0x40 != 0 }
        #expect(!df(try encapsulate(Self.innerFrame(dontFragment: true), Self.device())))
        #expect(df(try encapsulate(Self.innerFrame(), Self.device { $0.df = .set })))
        #expect(df(try encapsulate(Self.innerFrame(dontFragment: true), Self.device { $0.df = .inherit })))
        #expect(!df(try encapsulate(Self.innerFrame(dontFragment: false), Self.device { $0.df = .inherit })))
    }

    @Test("the IP identification advances by one per packet, DF or not")
    func identificationAdvances() throws {
        var endpoint = TunnelEndpoint(configuration: Self.device { $0.df = .set }, initialIdentification: 0xFFFE)
        var ids: [UInt16] = []
        for _ in 0..<3 {
            let buffer = PacketBuffer(copying: Self.innerFrame())
            try endpoint.encapsulate(buffer)
            ids.append(UInt16(buffer.bytes[18]) << 8 | UInt16(buffer.bytes[19]))
        }
        #expect(ids == [0xFFFE, 0xFFFF, 0x0000])
    }

    @Test("one flow, one source port, inside the configured range; different flows spread")
    func sourcePortFromFlowHash() throws {
        func port(_ frame: [UInt8]) -> UInt16 { UInt16(frame[34]) << 8 | UInt16(frame[35]) }
        let configuration = Self.device { $0.sourcePortRange = TunnelConfiguration.rfc7348SourcePorts }
        let first = port(try encapsulate(Self.innerFrame(sourcePort: 1000), configuration))
        #expect(port(try encapsulate(Self.innerFrame(sourcePort: 1000, payload: 100), configuration)) == first)
        var ports = Set<UInt16>()
        for flow in 0..<200 {
            let chosen = port(try encapsulate(Self.innerFrame(sourcePort: UInt16(1000 + flow)), configuration))
            #expect(TunnelConfiguration.rfc7348SourcePorts.contains(chosen))
            ports.insert(chosen)
        }
        #expect(ports.count > 150, "200 flows should mostly get distinct ports, got \(ports.count)")
        let reseeded = Self.device { $0.flowHashSeed = 7 }
        #expect(port(try encapsulate(Self.innerFrame(sourcePort: 1000), reseeded))
                != port(try encapsulate(Self.innerFrame(sourcePort: 1000), Self.device())))
    }

    @Test("udpcsum computes a checksum that verifies; noudpcsum sends zero")
    func udpChecksum() throws {
        let withChecksum = try encapsulate(Self.innerFrame(), Self.device())
        #expect(withChecksum[40] != 0 || withChecksum[41] != 0)
        let valid = withChecksum.withUnsafeBytes { raw in
            (try? UDPDatagram(checking: raw.dropFirst(count: 34)))?
                .checksumIsValid(.ipv4(source: Self.local, destination: Self.remote)) ?? false
        }
        #expect(valid)
        let without = try encapsulate(Self.innerFrame(), Self.device { $0.udpChecksum = false })
        #expect(without[40] == 0 && without[41] == 0)
    }

    @Test("gbp carries the mark as group policy id; a zero mark sends a plain header, as Linux does")
    func groupBasedPolicy() throws {
        let marked = try encapsulate(Self.innerFrame(), Self.device { $0.groupBasedPolicy = true }, groupPolicyID: 2748)
        #expect(Array(marked[42..<50]) == [0x88, 0x00, 0x0a, 0xbc, 0x00, 0x00, 42, 0x00])
        let unmarked = try encapsulate(Self.innerFrame(), Self.device { $0.groupBasedPolicy = true })
        #expect(Array(unmarked[42..<46]) == [0x08, 0, 0, 0])
        let disabled = try encapsulate(Self.innerFrame(), Self.device(), groupPolicyID: 2748)
        #expect(Array(disabled[42..<46]) == [0x08, 0, 0, 0])
    }

    @Test("IPv6 underlay: 70 bytes of overhead, checksum required unless udp6zerocsumtx")
    func ipv6Underlay() throws {
        let v6 = Self.device {
            $0.local = IPAddress("2001:db8:77::1")!
            $0.remote = IPAddress("2001:db8:77::2")!
        }
        let frame = try encapsulate(Self.innerFrame(), v6)
        #expect(frame.count == Self.innerFrame().count + 70)
        #expect(frame[12] == 0x86 && frame[13] == 0xDD && frame[14] >> 4 == 6)
        #expect(frame[60] != 0 || frame[61] != 0)
        var zero = v6
        zero.udp6ZeroChecksumTx = true
        let zeroFrame = try encapsulate(Self.innerFrame(), zero)
        #expect(zeroFrame[60] == 0 && zeroFrame[61] == 0)

        let receiver = TunnelEndpoint(configuration: v6)
        let refused = #expect(throws: DecapsulationError.self) { try receiver.decapsulate(PacketBuffer(copying: zeroFrame)) }
        #expect(refused?.code == .zeroChecksumOverIPv6)
        var lenient = v6
        lenient.udp6ZeroChecksumRx = true
        #expect(throws: Never.self) { try TunnelEndpoint(configuration: lenient).decapsulate(PacketBuffer(copying: zeroFrame)) }
    }

    @Test("mixing an IPv4 local with an IPv6 remote is refused")
    func addressFamilies() {
        var endpoint = TunnelEndpoint(configuration: Self.device { $0.remote = IPAddress("2001:db8::2") })
        let error = #expect(throws: EncapsulationError.self) { try endpoint.encapsulate(PacketBuffer(copying: Self.innerFrame())) }
        #expect(error?.code == .addressFamilyMismatch)
    }

    // MARK: Decapsulation checks, on scapy-built frames (see Tests/TestFixtures/odd/INDEX.md)

    static let oddFrames: [[UInt8]] = {
        (try? ClassicPcap.read(Data(contentsOf: Fixtures.url("odd/odd.pcap"))).map(\.bytes)) ?? []
    }()

    /// Odd frame number (1-based) and what the VTEP must say about it.
    @Test("vxlan_rcv's checks say exactly why a frame is refused", arguments: [
        (1, DecapsulationError.Code.malformed, "I bit"),
        (2, .malformed, "udp: badChecksum at byte 40"),
        (3, .malformed, "ipv4: badChecksum at byte 24"),
        (9, .notUDP, "TCP"),
        (10, .notUDP, "ICMP"),
        (13, .notIP, "ARP"),
        (16, .malformed, "truncated"),
        (17, .notIP, "0x88b5"),
    ])
    func refuses(frameNumber: Int, code: DecapsulationError.Code, reasonContains: String) throws {
        try #require(Self.oddFrames.count == 17)
        let frame = Self.oddFrames[frameNumber - 1]
        let buffer = PacketBuffer(copying: frame)
        let error = #expect(throws: DecapsulationError.self) {
            try TunnelEndpoint(configuration: Self.device { $0.local = .v4(Self.remote) }).decapsulate(buffer)
        }
        #expect(error?.code == code)
        #expect(error?.reason.contains(reasonContains) == true, "\(error?.reason ?? "")")
        #expect(buffer.bytes == frame, "a refused frame is left as it was")
    }

    @Test("wrong port and unknown VNI are refused by name")
    func portAndVNI() throws {
        let frame = try encapsulate(Self.innerFrame(), Self.device())
        let otherPort = #expect(throws: DecapsulationError.self) {
            try TunnelEndpoint(configuration: Self.device { $0.destinationPort = 8472 }).decapsulate(PacketBuffer(copying: frame))
        }
        #expect(otherPort?.reason == "UDP destination port 4789 is not this VTEP's dstport 8472")
        let otherVNI = #expect(throws: DecapsulationError.self) {
            try TunnelEndpoint(configuration: Self.device { $0.vni = 1 }).decapsulate(PacketBuffer(copying: frame))
        }
        #expect(otherVNI?.code == .unknownVNI)
    }

    @Test("accepted: IPv4 options, 802.1Q and QinQ outer tags, GBP D and A bits, IPv6 extension headers",
          arguments: [4, 5, 6, 7, 8])
    func accepts(frameNumber: Int) throws {
        try #require(Self.oddFrames.count == 17)
        let frame = Self.oddFrames[frameNumber - 1]
        var configuration = Self.device { $0.local = .v4(Self.remote) }
        if frameNumber == 8 { configuration.local = IPAddress("2001:db8:77::2")! }
        // A GBP header is accepted only by a device with gbp (vxlan_rcv's reserved_bits; see ReceiveStrictnessTests).
        if frameNumber == 7 { configuration.groupBasedPolicy = true }
        let buffer = PacketBuffer(copying: frame)
        let packet = try TunnelEndpoint(configuration: configuration).decapsulate(buffer)
        #expect(packet.vni == 42)
        #expect(buffer.bytes == Array(frame[packet.headerLength...]))
        #expect(buffer.bytes[12] == 0x08 && buffer.bytes[13] == 0x00, "inner frame is IPv4")
        if frameNumber == 7 {
            #expect(packet.groupPolicy == GroupPolicy(id: 2748, dontLearn: true, policyApplied: true))
        }
    }

    // MARK: ip link words

    @Test("bad ip link words are named")
    func ipLinkErrors() {
        #expect(throws: TunnelConfiguration.ArgumentError(word: "id", reason: "VNI 16777216 exceeds 24 bits")) {
            try TunnelConfiguration(ipLinkArguments: ["id", "16777216"])
        }
        #expect(throws: TunnelConfiguration.ArgumentError.self) { try TunnelConfiguration(ipLinkArguments: ["dstport", "70000", "id", "1"]) }
        #expect(throws: TunnelConfiguration.ArgumentError.self) { try TunnelConfiguration(ipLinkArguments: ["df", "maybe", "id", "1"]) }
        #expect(throws: TunnelConfiguration.ArgumentError.self) { try TunnelConfiguration(ipLinkArguments: ["local", "10.0.0.300", "id", "1"]) }
        #expect(throws: TunnelConfiguration.ArgumentError.self) { try TunnelConfiguration(ipLinkArguments: ["dstport", "4789"]) }
        #expect(throws: TunnelConfiguration.ArgumentError.self) { try TunnelConfiguration(ipLinkArguments: ["id"]) }
    }
}
