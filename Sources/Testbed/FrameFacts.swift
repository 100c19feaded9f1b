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

/// Reads frames into facts.
struct FrameReader {
    var vxlanPorts: Set<Int>

    func read(_ bytes: [UInt8], time: UInt64) -> FrameFacts {
        var facts = FrameFacts(time: time, frameLength: bytes.count)
        guard let ethernet = Self.ethernet(bytes, at: 0) else { return facts }
        if ethernet.etherType == 0x0806 {
            facts.housekeeping = "arp"
            return facts
        }
        guard var ip = Self.ip(bytes, at: 14, ethernet: ethernet) else { return facts }
        if ip.isIPv4 && ip.protocol == 2 {
            facts.housekeeping = "IGMP"
            return facts
        }
        if !ip.isIPv4 && ip.protocol == 0 {
            // A hop-by-hop header (router alert) in front of MLD.
            facts.housekeeping = "MLD"
            return facts
        }
        if ip.protocol == 58, let type = ip.icmpType, (130...143).contains(type) {
            facts.housekeeping = type >= 133 && type <= 137 ? "neighbour discovery" : "MLD"
            return facts
        }
        // IPv6: a fragment header (first fragment) sits between the fixed header and UDP.
        let headerLength = ip.isIPv4 ? Int(bytes[14] & 0x0F) * 4 : (bytes[20] == 44 ? 48 : 40)
        let udp = 14 + headerLength
        if ip.protocol == 17, ip.fragmentOffset == 0, bytes.count >= udp + 16,
           let destinationPort = ip.destinationPort, vxlanPorts.contains(destinationPort) {
            var outer = OuterFacts(ip: ip)
            outer.udpSourcePort = ip.sourcePort
            outer.udpDestinationPort = destinationPort
            outer.udpChecksumZero = bytes[udp + 6] == 0 && bytes[udp + 7] == 0
            outer.vxlanFlags = Int(bytes[udp + 8])
            outer.vni = Int(bytes[udp + 12]) << 16 | Int(bytes[udp + 13]) << 8 | Int(bytes[udp + 14])
            facts.outer = outer
            if let innerEthernet = Self.ethernet(bytes, at: udp + 16) {
                if innerEthernet.etherType == 0x0806 { facts.housekeeping = "arp" }
                facts.packet = Self.ip(bytes, at: udp + 16 + 14, ethernet: innerEthernet)
            }
            return facts
        }
        if ip.protocol == 17, ip.fragmentOffset != 0 || ip.moreFragments, ip.fragmentOffset != 0 {
            // A later piece of an outer (or pod) fragment: the packet has no transport header.
            ip.sourcePort = nil
            ip.destinationPort = nil
        }
        facts.packet = ip
        return facts
    }

    static func ethernet(_ bytes: [UInt8], at offset: Int) -> (source: String, destination: String, etherType: UInt16)? {
        guard bytes.count >= offset + 14 else { return nil }
        func mac(_ at: Int) -> String {
            bytes[at..<at + 6].map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined(separator: ":")
        }
        return (mac(offset + 6), mac(offset), UInt16(bytes[offset + 12]) << 8 | UInt16(bytes[offset + 13]))
    }

    static func u16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }

    static func ipv4Text(_ bytes: [UInt8], _ at: Int) -> String { "\(bytes[at]).\(bytes[at + 1]).\(bytes[at + 2]).\(bytes[at + 3])" }

    static func ipv6Text(_ bytes: [UInt8], _ at: Int) -> String {
        var high: UInt64 = 0, low: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(bytes[at + index]) }
        for index in 8..<16 { low = low << 8 | UInt64(bytes[at + index]) }
        return IPv6Address(high: high, low: low).description
    }

    /// The IP packet at `offset`, its transport header and, for an ICMP error, the quoted packet.
    static func ip(_ bytes: [UInt8], at offset: Int, ethernet: (source: String, destination: String, etherType: UInt16)) -> PacketFacts? {
        var facts = PacketFacts()
        facts.sourceMAC = ethernet.source
        facts.destinationMAC = ethernet.destination
        facts.etherType = ethernet.etherType
        guard bytes.count >= offset + 20 else { return nil }
        let l4: Int, end: Int
        if ethernet.etherType == 0x0800 {
            guard bytes[offset] >> 4 == 4 else { return nil }
            let headerLength = Int(bytes[offset] & 0x0F) * 4
            guard headerLength >= 20, bytes.count >= offset + headerLength else { return nil }
            facts.version = 4
            facts.tos = Int(bytes[offset + 1])
            facts.length = u16(bytes, offset + 2)
            facts.identification = u16(bytes, offset + 4)
            let flags = u16(bytes, offset + 6)
            facts.dontFragment = flags & 0x4000 != 0
            facts.moreFragments = flags & 0x2000 != 0
            facts.fragmentOffset = (flags & 0x1FFF) * 8
            facts.ttl = Int(bytes[offset + 8])
            facts.protocol = Int(bytes[offset + 9])
            facts.source = ipv4Text(bytes, offset + 12)
            facts.destination = ipv4Text(bytes, offset + 16)
            l4 = offset + headerLength
            end = min(bytes.count, offset + max(facts.length, headerLength))
        } else if ethernet.etherType == 0x86DD {
            guard bytes.count >= offset + 40 else { return nil }
            facts.version = 6
            facts.tos = Int(bytes[offset] & 0x0F) << 4 | Int(bytes[offset + 1] >> 4)
            facts.length = u16(bytes, offset + 4) + 40
            facts.protocol = Int(bytes[offset + 6])
            facts.ttl = Int(bytes[offset + 7])
            facts.source = ipv6Text(bytes, offset + 8)
            facts.destination = ipv6Text(bytes, offset + 24)
            var next = offset + 40
            if facts.protocol == 44, bytes.count >= next + 8 {
                // Fragment header (RFC 8200 §4.5).
                facts.protocol = Int(bytes[next])
                let field = u16(bytes, next + 2)
                facts.fragmentOffset = (field >> 3) * 8
                facts.moreFragments = field & 1 != 0
                facts.identification = Int(u16(bytes, next + 4)) << 16 | u16(bytes, next + 6)
                next += 8
            }
            l4 = next
            end = min(bytes.count, offset + facts.length)
        } else {
            return nil
        }
        guard facts.fragmentOffset == 0 else { return facts }
        switch facts.protocol {
        case 6 where end >= l4 + 20:
            facts.sourcePort = u16(bytes, l4)
            facts.destinationPort = u16(bytes, l4 + 2)
            facts.tcpSequence = UInt32(u16(bytes, l4 + 4)) << 16 | UInt32(u16(bytes, l4 + 6))
            facts.tcpFlags = bytes[l4 + 13]
            let dataOffset = Int(bytes[l4 + 12] >> 4) * 4
            facts.tcpPayload = max(0, (offset + facts.length) - (l4 + dataOffset))
        case 17 where end >= l4 + 8:
            facts.sourcePort = u16(bytes, l4)
            facts.destinationPort = u16(bytes, l4 + 2)
        case 1 where end >= l4 + 8, 58 where end >= l4 + 8:
            let type = Int(bytes[l4]), code = Int(bytes[l4 + 1])
            facts.icmpType = type
            facts.icmpCode = code
            let isError = facts.protocol == 1 ? (type == 3 || type == 11 || type == 12) : (type >= 1 && type <= 4)
            if isError {
                facts.quoteLength = max(0, end - (l4 + 8))
                if facts.protocol == 1 && type == 3 && code == 4 { facts.icmpMTU = u16(bytes, l4 + 6) }
                if facts.protocol == 58 && type == 2 { facts.icmpMTU = Int(u16(bytes, l4 + 4)) << 16 | u16(bytes, l4 + 6) }
                facts.quoted = quote(Array(bytes[(l4 + 8)..<end]))
            } else {
                facts.icmpIdentifier = u16(bytes, l4 + 4)
            }
        default:
            break
        }
        return facts
    }

    /// The packet inside an ICMP error: its addresses and whatever transport header the quote holds.
    static func quote(_ bytes: [UInt8]) -> QuotedPacket? {
        guard let first = bytes.first else { return nil }
        let etherType: UInt16 = first >> 4 == 6 ? 0x86DD : 0x0800
        // A quote is an IP packet without its Ethernet header: give it an empty one.
        let framed = [UInt8](repeating: 0, count: 12) + [UInt8(etherType >> 8), UInt8(etherType & 0xFF)] + bytes
        guard let facts = ip(framed, at: 14, ethernet: ("", "", etherType)) else { return nil }
        var quoted = QuotedPacket(source: facts.source, destination: facts.destination, protocol: facts.protocol,
                                  sourcePort: facts.sourcePort, destinationPort: facts.destinationPort,
                                  icmpIdentifier: facts.icmpIdentifier)
        let headerLength = facts.isIPv4 ? Int(bytes[0] & 0x0F) * 4 : 40
        let innerEthernet = 14 + headerLength + 8 + 8
        if facts.protocol == 17, framed.count >= innerEthernet + 14 + 20,
           let ethernet = ethernet(framed, at: innerEthernet), let inner = ip(framed, at: innerEthernet + 14, ethernet: ethernet) {
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
