import Foundation
import PacketWire
import TestFixtures
import Testing
@testable import VXLAN

/// Proof against the real kernel: every VXLAN frame Linux put on the wire, decapsulated and encapsulated
/// again with the device's own settings, comes back byte for byte.
@Suite("Kernel vectors")
struct KernelVectorTests {
    /// What a frame in a kernel capture is, as the VTEP sees it.
    enum Kind: Hashable { case vxlan, arp, icmpv6, ipv4Fragment }

    /// The recorder sends the same traffic in every scenario (2 pings each way, a 1400-byte ping each
    /// way, a TCP exchange of 8 segments and one UDP datagram): 15 VXLAN packets. In frag-v4 the two
    /// 1400-byte pings are each split in two on the narrow underlay and count once reassembled.
    static let vxlanPacketsPerScenario = 15

    @Test("every VXLAN frame re-encapsulates to the kernel's bytes", arguments: Fixtures.kernelScenarios)
    func reencapsulatesEveryFrame(scenario: String) throws {
        let device = try TunnelConfiguration(ipLinkArguments: Fixtures.kernelLinkArguments(scenario))
        var kinds: [Kind: Int] = [:]
        var fragments = FragmentJoiner()
        for (index, record) in try Fixtures.kernelCapture(scenario).enumerated() {
            let frameNumber = index + 1
            let frame: [UInt8]
            switch try classify(record.bytes) {
            case .vxlan:
                frame = record.bytes
            case .ipv4Fragment:
                kinds[.ipv4Fragment, default: 0] += 1
                guard let whole = fragments.add(record.bytes) else { continue }
                frame = whole
            case let other:
                kinds[other, default: 0] += 1
                try expectRefusal(of: record.bytes, kind: other, device: device)
                continue
            }
            kinds[.vxlan, default: 0] += 1
            try expectRoundTrip(frame, device: device, context: "\(scenario) frame \(frameNumber)")
        }
        #expect(kinds[.vxlan] == Self.vxlanPacketsPerScenario, "\(scenario): \(kinds)")
        #expect((kinds[.arp] ?? 0) + (kinds[.icmpv6] ?? 0) > 0, "\(scenario) has underlay chatter: \(kinds)")
        if scenario == "frag-v4" {
            #expect(kinds[.ipv4Fragment] == 4, "two 1400-byte pings, each split in two")
        }
    }

    @Test("every kernel capture in the fixtures has its settings file, and all seven are there")
    func fixturesComplete() throws {
        #expect(Set(Fixtures.kernelScenarios).isSuperset(of: [
            "flannel-v4", "calico-v4", "nocsum-v4", "frag-v4", "df-ttl", "gbp", "v6-underlay",
        ]))
        for scenario in Fixtures.kernelScenarios {
            #expect(throws: Never.self, "\(scenario).link.txt") { try Fixtures.kernelLinkArguments(scenario) }
        }
    }

    @Test("the settings files are read as the kernel printed them")
    func readsLinkSettings() throws {
        let dfTTL = try TunnelConfiguration(ipLinkArguments: Fixtures.kernelLinkArguments("df-ttl"))
        #expect(dfTTL.vni == 99 && dfTTL.ttl == .fixed(17) && dfTTL.df == .set && dfTTL.tos == .inherit)
        #expect(dfTTL.local == IPAddress("192.0.2.1"))
        let flannel = try TunnelConfiguration(ipLinkArguments: Fixtures.kernelLinkArguments("flannel-v4"))
        #expect(flannel.destinationPort == 8472 && flannel.udpChecksum && flannel.sourcePortRange == 32768..<61000)
        let nocsum = try TunnelConfiguration(ipLinkArguments: Fixtures.kernelLinkArguments("nocsum-v4"))
        #expect(!nocsum.udpChecksum)
        let gbp = try TunnelConfiguration(ipLinkArguments: Fixtures.kernelLinkArguments("gbp"))
        #expect(gbp.groupBasedPolicy)
        let v6 = try TunnelConfiguration(ipLinkArguments: Fixtures.kernelLinkArguments("v6-underlay"))
        #expect(v6.local == IPAddress("2001:db8:77::1") && v6.vni == 7)
    }

    // MARK: - Helpers

    func classify(_ bytes: [UInt8]) throws -> Kind {
        try bytes.withWireBytes { raw throws(DecodeError) -> Kind in
            let ethernet = try EthernetFrame(checking: raw)
            switch ethernet.etherType {
            case .arp: return .arp
            case .ipv4:
                let ip = try IPv4Packet(checking: ethernet.payload)
                return ip.isFragment ? .ipv4Fragment : .vxlan
            case .ipv6:
                let ip = try IPv6Packet(checking: ethernet.payload)
                return try ip.upperLayer().protocol == .icmpv6 ? .icmpv6 : .vxlan
            default:
                throw .unsupported(.ethernet, offset: 12, expected: "ARP, IPv4 or IPv6", found: "\(ethernet.etherType)")
            }
        }
    }

    /// A non-VXLAN frame is refused for what it is, and the buffer is left as it was.
    func expectRefusal(of bytes: [UInt8], kind: Kind, device: TunnelConfiguration) throws {
        let buffer = PacketBuffer(copying: bytes)
        let endpoint = TunnelEndpoint(configuration: device)
        let error = #expect(throws: DecapsulationError.self) { try endpoint.decapsulate(buffer) }
        switch kind {
        case .arp: #expect(error?.code == .notIP)
        case .icmpv6: #expect(error?.code == .notUDP)
        default: Issue.record("unexpected kind \(kind)")
        }
        #expect(buffer.bytes == bytes)
    }

    /// Decapsulates `frame` at the receiving VTEP, then encapsulates the inner frame at the sending VTEP
    /// with the wire's own source port, IP ID / flow label and group policy, and compares.
    func expectRoundTrip(_ frame: [UInt8], device: TunnelConfiguration, context: String) throws {
        let outer = try OuterFields(frame)
        var receiver = device
        receiver.local = outer.destination
        let buffer = PacketBuffer(copying: frame)
        let decapsulated = try TunnelEndpoint(configuration: receiver).decapsulate(buffer)
        #expect(decapsulated.vni == device.vni, "\(context)")
        #expect(decapsulated.outerSource == outer.source, "\(context)")
        #expect(buffer.count == frame.count - device.overhead, "\(context): only the outer headers are removed")

        var sender = device
        sender.local = outer.source
        sender.remote = outer.destination
        sender.underlaySourceMAC = outer.sourceMAC
        sender.underlayNextHopMAC = outer.destinationMAC
        var endpoint = TunnelEndpoint(configuration: sender)
        try endpoint.encapsulate(
            buffer, groupPolicyID: decapsulated.groupPolicy?.id ?? 0,
            overrides: EncapsulationOverrides(sourcePort: outer.sourcePort, identification: outer.identification,
                                              flowLabel: outer.flowLabel))
        let rebuilt = buffer.bytes
        #expect(rebuilt == frame, "\(context): first difference at byte \(firstDifference(rebuilt, frame) ?? -1)")
    }

    struct OuterFields {
        var sourceMAC: MACAddress, destinationMAC: MACAddress
        var source: IPAddress, destination: IPAddress
        var identification: UInt16?, flowLabel: UInt32?
        var sourcePort: UInt16

        init(_ frame: [UInt8]) throws {
            self = try frame.withWireBytes { raw throws(DecodeError) -> OuterFields in
                let ethernet = try EthernetFrame(checking: raw)
                if ethernet.etherType == .ipv6 {
                    let ip = try IPv6Packet(checking: ethernet.payload)
                    let udp = try UDPDatagram(checking: ip.payload)
                    return OuterFields(sourceMAC: ethernet.source, destinationMAC: ethernet.destination,
                                       source: .v6(ip.source), destination: .v6(ip.destination),
                                       identification: nil, flowLabel: ip.flowLabel, sourcePort: udp.sourcePort)
                }
                let ip = try IPv4Packet(checking: ethernet.payload)
                let udp = try UDPDatagram(checking: ip.payload)
                return OuterFields(sourceMAC: ethernet.source, destinationMAC: ethernet.destination,
                                   source: .v4(ip.source), destination: .v4(ip.destination),
                                   identification: ip.identification, flowLabel: nil, sourcePort: udp.sourcePort)
            }
        }

        init(sourceMAC: MACAddress, destinationMAC: MACAddress, source: IPAddress, destination: IPAddress,
             identification: UInt16?, flowLabel: UInt32?, sourcePort: UInt16) {
            self.sourceMAC = sourceMAC
            self.destinationMAC = destinationMAC
            self.source = source
            self.destination = destination
            self.identification = identification
            self.flowLabel = flowLabel
            self.sourcePort = sourcePort
        }
    }

    /// Joins the two fragments of an outer IPv4 packet back into one frame, as the receiving host's IP
    /// layer does before the VTEP sees it (enough for the recorder's two-fragment datagrams).
    struct FragmentJoiner {
        var first: [UInt8]?

        mutating func add(_ frame: [UInt8]) -> [UInt8]? {
            let flags = frame[20], offsetLow = frame[21]
            let moreFragments = flags & 0x20 != 0
            let offset = (Int(flags & 0x1F) << 8 | Int(offsetLow)) * 8
            if offset == 0 && moreFragments { first = frame; return nil }
            guard var whole = first, !moreFragments else { return nil }
            first = nil
            let headerLength = Int(frame[14] & 0x0F) * 4
            let totalLength = Int(frame[16]) << 8 | Int(frame[17])
            whole.removeSubrange((14 + 20 + offset)...)
            whole += frame[(14 + headerLength)..<(14 + totalLength)]
            let length = UInt16(20 + offset + totalLength - headerLength)
            whole[16] = UInt8(length >> 8); whole[17] = UInt8(length & 0xFF)
            whole[20] = 0; whole[21] = 0
            whole[24] = 0; whole[25] = 0
            let checksum = whole.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[14..<34])) }
            whole[24] = UInt8(checksum >> 8); whole[25] = UInt8(checksum & 0xFF)
            return whole
        }
    }

    func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? (a.count == b.count ? nil : min(a.count, b.count))
    }
}
