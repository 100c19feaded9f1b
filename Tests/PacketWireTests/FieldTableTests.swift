import PacketWire
import Testing

/// Each view's `Field` table is what its getters read: over bytes that are all different (byte i holds
/// i + 1), every getter returns the big-endian value of exactly its table entry's bytes. A table that
/// drifted from the code would fail here.
@Suite("Field tables are what the getters read")
struct FieldTableTests {
    static let distinct: [UInt8] = (0..<64).map { UInt8($0 + 1) }

    /// The big-endian integer in `range` of the distinct bytes.
    static func value(_ range: Range<Int>) -> UInt64 { distinct[range].reduce(0) { $0 << 8 | UInt64($1) } }
    static func value(_ offset: Int) -> UInt64 { UInt64(distinct[offset]) }

    @Test func ipv4() throws {
        typealias F = IPv4Packet.Field
        var bytes = Self.distinct
        bytes[F.versionAndHeaderLength] = 0x45                // a header the check accepts: IHL 5,
        bytes[F.totalLength.lowerBound] = 0; bytes[F.totalLength.lowerBound + 1] = 40   // total length 40
        try bytes.withUnsafeBytes { raw in
            let packet = try IPv4Packet(checking: raw)
            let word = { (range: Range<Int>) in bytes[range].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            #expect(packet.version == 4 && packet.headerLength == 20)
            #expect(packet.typeOfService == bytes[F.typeOfService])
            #expect(UInt64(packet.totalLength) == word(F.totalLength))
            #expect(UInt64(packet.identification) == word(F.identification))
            #expect(UInt64(packet.fragmentOffset / 8) == word(F.flagsAndFragmentOffset) & 0x1FFF)
            #expect(packet.timeToLive == bytes[F.timeToLive])
            #expect(packet.protocol.rawValue == bytes[F.protocol])
            #expect(UInt64(packet.checksum) == word(F.checksum))
            #expect(UInt64(packet.source.rawValue) == word(F.source))
            #expect(UInt64(packet.destination.rawValue) == word(F.destination))
        }
    }

    @Test func udpTCPAndICMP() throws {
        try Self.distinct.withUnsafeBytes { raw in
            typealias U = UDPDatagram.Field
            var udpBytes = Self.distinct
            udpBytes[4] = 0; udpBytes[5] = 8   // length 8
            try udpBytes.withUnsafeBytes { raw in
                let udp = try UDPDatagram(checking: raw)
                let word = { (range: Range<Int>) in udpBytes[range].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
                #expect(UInt64(udp.sourcePort) == word(U.sourcePort))
                #expect(UInt64(udp.destinationPort) == word(U.destinationPort))
                #expect(UInt64(udp.length) == word(U.length))
                #expect(UInt64(udp.checksum) == word(U.checksum))
            }

            typealias T = TCPSegment.Field
            var tcpBytes = Self.distinct
            tcpBytes[T.dataOffset] = 0x5F   // data offset 5, reserved bits 0xF
            try tcpBytes.withUnsafeBytes { raw in
                let tcp = try TCPSegment(checking: raw)
                let word = { (range: Range<Int>) in tcpBytes[range].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
                #expect(UInt64(tcp.sourcePort) == word(T.sourcePort))
                #expect(UInt64(tcp.destinationPort) == word(T.destinationPort))
                #expect(UInt64(tcp.sequenceNumber) == word(T.sequenceNumber))
                #expect(UInt64(tcp.acknowledgmentNumber) == word(T.acknowledgmentNumber))
                #expect(tcp.reservedBits == 0xF && tcp.headerLength == 20)
                #expect(UInt64(tcp.flags.rawValue) == Self.value(T.flags))
                #expect(UInt64(tcp.window) == word(T.window))
                #expect(UInt64(tcp.checksum) == word(T.checksum))
                #expect(UInt64(tcp.urgentPointer) == word(T.urgentPointer))
            }

            typealias I = ICMPv4Message.Field
            let icmp = try ICMPv4Message(checking: raw)
            #expect(UInt64(icmp.type.rawValue) == Self.value(I.type))
            #expect(UInt64(icmp.code) == Self.value(I.code))
            #expect(UInt64(icmp.checksum) == Self.value(I.checksum))
            #expect(UInt64(icmp.restOfHeader) == Self.value(I.restOfHeader))
            #expect(UInt64(icmp.identifier) == Self.value(I.identifier))
            #expect(UInt64(icmp.sequenceNumber) == Self.value(I.sequenceNumber))
            #expect(UInt64(icmp.nextHopMTU) == Self.value(I.nextHopMTU))

            typealias J = ICMPv6Message.Field
            let icmpv6 = try ICMPv6Message(checking: raw)
            #expect(UInt64(icmpv6.type.rawValue) == Self.value(J.type))
            #expect(UInt64(icmpv6.checksum) == Self.value(J.checksum))
            #expect(UInt64(icmpv6.identifier) == Self.value(J.identifier))
            #expect(UInt64(icmpv6.sequenceNumber) == Self.value(J.sequenceNumber))
            #expect(UInt64(icmpv6.mtu) == Self.value(J.mtu))
        }
    }

    @Test func ipv6VXLANARPAndFragment() throws {
        typealias F = IPv6Packet.Field
        var ipv6Bytes = Self.distinct
        ipv6Bytes[0] = 0x61
        ipv6Bytes[4] = 0; ipv6Bytes[5] = 24   // payload length 24: 64 bytes in all
        try ipv6Bytes.withUnsafeBytes { raw in
            let packet = try IPv6Packet(checking: raw)
            let word = { (range: Range<Int>) in ipv6Bytes[range].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            #expect(UInt64(packet.flowLabel) == word(F.versionClassLabel) & 0xF_FFFF)
            #expect(UInt64(packet.payloadLength) == word(F.payloadLength))
            #expect(UInt64(packet.nextHeader.rawValue) == UInt64(ipv6Bytes[F.nextHeader]))
            #expect(UInt64(packet.hopLimit) == UInt64(ipv6Bytes[F.hopLimit]))
            #expect(packet.source == IPv6Address(high: word(8..<16), low: word(16..<24)) && F.source == 8..<24)
            #expect(packet.destination == IPv6Address(high: word(24..<32), low: word(32..<40)) && F.destination == 24..<40)
        }
        try Self.distinct.withUnsafeBytes { raw in
            typealias V = VXLANPacket.Field
            let vxlan = try VXLANPacket(checking: raw)
            #expect(UInt64(vxlan.flags) == Self.value(V.flags))
            #expect(UInt64(vxlan.groupPolicyFlags) == Self.value(V.groupPolicyFlags))
            #expect(UInt64(vxlan.groupPolicyID) == Self.value(V.groupPolicyID))
            #expect(UInt64(vxlan.vni) == Self.value(V.vni))

            typealias G = IPv6FragmentPacket.Field
            let fragment = try IPv6FragmentPacket(checking: raw)
            #expect(UInt64(fragment.nextHeader.rawValue) == Self.value(G.nextHeader))
            #expect(UInt64(fragment.reserved) == Self.value(G.reserved))
            #expect(UInt64(fragment.fragmentOffset) == Self.value(G.offsetAndFlags) & 0xFFF8)
            #expect(UInt64(fragment.identification) == Self.value(G.identification))

            typealias E = EthernetFrame.Field
            let ethernet = try EthernetFrame(checking: raw)
            #expect(ethernet.destination.rawValue == Self.value(E.destination))
            #expect(ethernet.source.rawValue == Self.value(E.source))
            #expect(UInt64(ethernet.etherType.rawValue) == Self.value(E.etherType))
        }
        typealias A = ARPPacket.Field
        var arpBytes = Self.distinct
        arpBytes[A.hardwareAddressLength] = 6; arpBytes[A.protocolAddressLength] = 4
        try arpBytes.withUnsafeBytes { raw in
            let arp = try ARPPacket(checking: raw)
            let word = { (range: Range<Int>) in arpBytes[range].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            #expect(UInt64(arp.hardwareType.rawValue) == word(A.hardwareType))
            #expect(UInt64(arp.protocolType.rawValue) == word(A.protocolType))
            #expect(UInt64(arp.operation.rawValue) == word(A.operation))
            #expect(arp.senderHardwareAddress.rawValue == word(A.senderHardwareAddress))
            #expect(UInt64(arp.senderProtocolAddress.rawValue) == word(A.senderProtocolAddress))
            #expect(arp.targetHardwareAddress.rawValue == word(A.targetHardwareAddress))
            #expect(UInt64(arp.targetProtocolAddress.rawValue) == word(A.targetProtocolAddress))
        }
    }
}
