import Capture
import PacketWire

/// The header fields of one IP packet that a comparison looks at, read with bounds checks from a frame
/// (a pod's, a VTEP's, or the inner frame of a VXLAN packet). A field the frame is too short for is nil.
struct PacketFacts: Hashable, Sendable {
    var sourceMAC = "", destinationMAC = ""
    var etherType: UInt16 = 0
    var version = 0
    var source = "", destination = ""
    var ttl = 0, tos = 0
    var dontFragment = false
    var identification = 0
    /// IP total length (IPv4) or payload length + 40 (IPv6).
    var length = 0
    var fragmentOffset = 0
    var moreFragments = false
    var `protocol` = 0
    var sourcePort: Int?, destinationPort: Int?
    var tcpFlags: UInt8?
    var tcpSequence: UInt32?
    var tcpPayload = 0
    var icmpType: Int?, icmpCode: Int?
    var icmpIdentifier: Int?
    /// Next-hop MTU of fragmentation needed (type 3 code 4) or ICMPv6 packet too big.
    var icmpMTU: Int?
    /// Bytes of the ICMP error's body after its 8-byte header: how much of the original it quotes.
    var quoteLength: Int?
    /// The packet an ICMP error quotes (its IP header and what follows, as far as quoted).
    var quoted: QuotedPacket?

    var isFragment: Bool { fragmentOffset != 0 || moreFragments }
    var isIPv4: Bool { version == 4 }
}

struct QuotedPacket: Hashable, Sendable {
    var source: String, destination: String
    var `protocol`: Int
    var sourcePort: Int?, destinationPort: Int?
    var icmpIdentifier: Int?
    /// When the quote is of a VXLAN packet and long enough to hold the inner headers.
    var inner: PacketFactsBox?
}

/// A box so a quoted VXLAN packet's inner facts can nest.
final class PacketFactsBox: Hashable, @unchecked Sendable {
    let facts: PacketFacts
    init(_ facts: PacketFacts) { self.facts = facts }
    static func == (a: PacketFactsBox, b: PacketFactsBox) -> Bool { a.facts == b.facts }
    func hash(into hasher: inout Hasher) { hasher.combine(facts) }
}

/// VXLAN outer headers of an underlay frame.
struct OuterFacts: Hashable, Sendable {
    var ip: PacketFacts
    var udpSourcePort: Int?
    var udpDestinationPort: Int?
    var udpChecksumZero: Bool?
    var vxlanFlags: Int?
    var vni: Int?
}

/// One frame of a capture, decoded as far as a comparison needs.
struct FrameFacts: Sendable {
    /// Nanoseconds since the run's start.
    var time: UInt64
    var frameLength: Int
    /// The underlay packet when the frame is VXLAN (or an outer fragment of one).
    var outer: OuterFacts?
    /// The pod's packet: the frame itself, or the frame inside VXLAN; nil for ARP, an outer fragment
    /// without the inner header, or something unreadable.
    var packet: PacketFacts?
    /// ARP, IGMP, ICMPv6 neighbour discovery or MLD: link housekeeping, counted apart.
    var housekeeping: String?
}

/// Reads frames into facts, through PacketWire's views: each view is made without checks over bytes
/// whose length is checked first, so a frame cut anywhere gives fewer facts, never a trap.
struct FrameReader {
    var vxlanPorts: Set<Int>

    /// A frame's MAC addresses and EtherType (after no tag: the frames compared are untagged).
    typealias LinkFacts = (source: String, destination: String, etherType: UInt16)

    func read(_ bytes: [UInt8], time: UInt64) -> FrameFacts {
        bytes.withUnsafeBytes { read($0, time: time) }
    }

    func read(_ bytes: UnsafeRawBufferPointer, time: UInt64) -> FrameFacts {
        var facts = FrameFacts(time: time, frameLength: bytes.count)
        guard let ethernet = Self.ethernet(bytes) else { return facts }
        if ethernet.etherType == EtherType.arp.rawValue {
            facts.housekeeping = "arp"
            return facts
        }
        let network = bytes.dropFirst(count: EthernetFrame.minimumHeaderLength)
        guard var ip = Self.ip(network, ethernet: ethernet) else { return facts }
        if ip.isIPv4 && ip.protocol == 2 {
            facts.housekeeping = "IGMP"
            return facts
        }
        if !ip.isIPv4 && ip.protocol == Int(IPProtocol.hopByHopOptions.rawValue) {
            // A hop-by-hop header (router alert) in front of MLD.
            facts.housekeeping = "MLD"
            return facts
        }
        if ip.protocol == Int(IPProtocol.icmpv6.rawValue), let type = ip.icmpType, (130...143).contains(type) {
            facts.housekeeping = type >= 133 && type <= 137 ? "neighbour discovery" : "MLD"
            return facts
        }
        // IPv6: a fragment header (first fragment) sits between the fixed header and UDP.
        let headerLength = ip.isIPv4 ? IPv4Packet(unchecked: network).headerLength
            : IPv6Packet(unchecked: network).nextHeader == .ipv6Fragment ? IPv6Packet.headerLength + IPv6FragmentPacket.headerLength
            : IPv6Packet.headerLength
        let udp = EthernetFrame.minimumHeaderLength + headerLength
        let innerEthernet = udp + UDPDatagram.headerLength + VXLANPacket.headerLength
        if ip.protocol == Int(IPProtocol.udp.rawValue), ip.fragmentOffset == 0, bytes.count >= innerEthernet,
           let destinationPort = ip.destinationPort, vxlanPorts.contains(destinationPort) {
            var outer = OuterFacts(ip: ip)
            outer.udpSourcePort = ip.sourcePort
            outer.udpDestinationPort = destinationPort
            outer.udpChecksumZero = UDPDatagram(unchecked: bytes.dropFirst(count: udp)).checksum == 0
            let vxlan = VXLANPacket(unchecked: bytes.dropFirst(count: udp + UDPDatagram.headerLength))
            outer.vxlanFlags = Int(vxlan.flags)
            outer.vni = Int(vxlan.vni)
            facts.outer = outer
            if let inner = Self.ethernet(vxlan.payload) {
                if inner.etherType == EtherType.arp.rawValue { facts.housekeeping = "arp" }
                facts.packet = Self.ip(vxlan.payload.dropFirst(count: EthernetFrame.minimumHeaderLength), ethernet: inner)
            }
            return facts
        }
        if ip.protocol == Int(IPProtocol.udp.rawValue), ip.fragmentOffset != 0 || ip.moreFragments, ip.fragmentOffset != 0 {
            // A later piece of an outer (or pod) fragment: the packet has no transport header.
            ip.sourcePort = nil
            ip.destinationPort = nil
        }
        facts.packet = ip
        return facts
    }

    /// The untagged Ethernet header at the start of `bytes`; nil when it is cut.
    static func ethernet(_ bytes: UnsafeRawBufferPointer) -> LinkFacts? {
        guard bytes.count >= EthernetFrame.minimumHeaderLength else { return nil }
        let frame = EthernetFrame(unchecked: bytes)
        return (frame.source.description, frame.destination.description, frame.etherType.rawValue)
    }

    /// The IP packet at the start of `bytes`, its transport header and, for an ICMP error, the quoted
    /// packet.
    static func ip(_ bytes: UnsafeRawBufferPointer, ethernet: LinkFacts) -> PacketFacts? {
        var facts = PacketFacts()
        facts.sourceMAC = ethernet.source
        facts.destinationMAC = ethernet.destination
        facts.etherType = ethernet.etherType
        guard bytes.count >= IPv4Packet.minimumHeaderLength else { return nil }
        let l4: Int, end: Int
        if ethernet.etherType == EtherType.ipv4.rawValue {
            let ip = IPv4Packet(unchecked: bytes)
            guard ip.version == 4 else { return nil }
            let headerLength = ip.headerLength
            guard headerLength >= IPv4Packet.minimumHeaderLength, bytes.count >= headerLength else { return nil }
            facts.version = 4
            facts.tos = Int(ip.typeOfService)
            facts.length = ip.totalLength
            facts.identification = Int(ip.identification)
            facts.dontFragment = ip.dontFragment
            facts.moreFragments = ip.moreFragments
            facts.fragmentOffset = ip.fragmentOffset
            facts.ttl = Int(ip.timeToLive)
            facts.protocol = Int(ip.protocol.rawValue)
            facts.source = ip.source.description
            facts.destination = ip.destination.description
            l4 = headerLength
            end = min(bytes.count, max(facts.length, headerLength))
        } else if ethernet.etherType == EtherType.ipv6.rawValue {
            guard bytes.count >= IPv6Packet.headerLength else { return nil }
            let ip = IPv6Packet(unchecked: bytes)
            facts.version = 6
            facts.tos = Int(ip.trafficClass)
            facts.length = ip.payloadLength + IPv6Packet.headerLength
            facts.protocol = Int(ip.nextHeader.rawValue)
            facts.ttl = Int(ip.hopLimit)
            facts.source = ip.source.description
            facts.destination = ip.destination.description
            var next = IPv6Packet.headerLength
            if ip.nextHeader == .ipv6Fragment, bytes.count >= next + IPv6FragmentPacket.headerLength {
                // Fragment header (RFC 8200 §4.5).
                let fragment = IPv6FragmentPacket(unchecked: bytes.dropFirst(count: next))
                facts.protocol = Int(fragment.nextHeader.rawValue)
                facts.fragmentOffset = fragment.fragmentOffset
                facts.moreFragments = fragment.moreFragments
                facts.identification = Int(fragment.identification)
                next += IPv6FragmentPacket.headerLength
            }
            l4 = next
            end = min(bytes.count, facts.length)
        } else {
            return nil
        }
        guard facts.fragmentOffset == 0 else { return facts }
        let transport = bytes.dropFirst(count: min(l4, bytes.count))
        switch IPProtocol(rawValue: UInt8(truncatingIfNeeded: facts.protocol)) {
        case .tcp where end >= l4 + TCPSegment.minimumHeaderLength:
            let tcp = TCPSegment(unchecked: transport)
            facts.sourcePort = Int(tcp.sourcePort)
            facts.destinationPort = Int(tcp.destinationPort)
            facts.tcpSequence = tcp.sequenceNumber
            facts.tcpFlags = tcp.flags.rawValue
            facts.tcpPayload = max(0, facts.length - (l4 + tcp.headerLength))
        case .udp where end >= l4 + UDPDatagram.headerLength:
            let udp = UDPDatagram(unchecked: transport)
            facts.sourcePort = Int(udp.sourcePort)
            facts.destinationPort = Int(udp.destinationPort)
        case .icmp where end >= l4 + ICMPv4Message.headerLength, .icmpv6 where end >= l4 + ICMPv6Message.headerLength:
            // ICMPv6 (RFC 4443 §2.1) opens with ICMPv4's type and code (RFC 792).
            let icmp = ICMPv4Message(unchecked: transport), icmpv6 = ICMPv6Message(unchecked: transport)
            let type = Int(icmp.type.rawValue), code = Int(icmp.code)
            facts.icmpType = type
            facts.icmpCode = code
            let isV4 = facts.protocol == Int(IPProtocol.icmp.rawValue)
            let isError = isV4 ? (type == 3 || type == 11 || type == 12) : (type >= 1 && type <= 4)
            if isError {
                facts.quoteLength = max(0, end - (l4 + ICMPv4Message.headerLength))
                if isV4 && type == 3 && code == 4 { facts.icmpMTU = Int(icmp.nextHopMTU) }
                if !isV4 && type == 2 { facts.icmpMTU = Int(icmpv6.mtu) }
                facts.quoted = quote(bytes.slice((l4 + ICMPv4Message.headerLength)..<end))
            } else {
                facts.icmpIdentifier = Int(icmp.identifier)
            }
        default:
            break
        }
        return facts
    }

    /// The packet inside an ICMP error: its addresses and whatever transport header the quote holds.
    static func quote(_ bytes: UnsafeRawBufferPointer) -> QuotedPacket? {
        guard !bytes.isEmpty else { return nil }
        // The version nibble opens IPv4 and IPv6 headers alike.
        let etherType = IPv4Packet(unchecked: bytes).version == 6 ? EtherType.ipv6 : .ipv4
        // A quote is an IP packet without its Ethernet header: give it empty addresses.
        guard let facts = ip(bytes, ethernet: ("", "", etherType.rawValue)) else { return nil }
        var quoted = QuotedPacket(source: facts.source, destination: facts.destination, protocol: facts.protocol,
                                  sourcePort: facts.sourcePort, destinationPort: facts.destinationPort,
                                  icmpIdentifier: facts.icmpIdentifier)
        let headerLength = facts.isIPv4 ? IPv4Packet(unchecked: bytes).headerLength : IPv6Packet.headerLength
        let innerEthernet = headerLength + UDPDatagram.headerLength + VXLANPacket.headerLength
        if facts.protocol == Int(IPProtocol.udp.rawValue),
           bytes.count >= innerEthernet + EthernetFrame.minimumHeaderLength + IPv4Packet.minimumHeaderLength,
           let ethernet = ethernet(bytes.dropFirst(count: innerEthernet)),
           let inner = ip(bytes.dropFirst(count: innerEthernet + EthernetFrame.minimumHeaderLength), ethernet: ethernet) {
            quoted.inner = PacketFactsBox(inner)
        }
        return quoted
    }

    /// Every frame of a pcap, with times relative to `epoch` (nanoseconds since 1970).
    static func frames(path: String, epoch: UInt64, vxlanPorts: Set<Int>) throws(TestbedError) -> [FrameFacts] {
        let reader: PcapReader
        do { reader = try PcapReader(path: path) } catch { throw TestbedError(.input, "\(path): \(error)") }
        let frameReader = FrameReader(vxlanPorts: vxlanPorts)
        var facts: [FrameFacts] = []
        do {
            while let frame = try reader.next() {
                let time = frame.timestampNanoseconds >= epoch ? frame.timestampNanoseconds - epoch : 0
                facts.append(frameReader.read(Array(frame.bytes), time: time))
            }
        } catch {
            throw TestbedError(.input, "\(path): \(error)")
        }
        return facts
    }
}
