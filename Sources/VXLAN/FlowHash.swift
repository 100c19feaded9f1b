import PacketWire

/// The inner flow a tunnel hashes for ECMP entropy: addresses, protocol and ports, as Linux's flow
/// dissector reads them; for frames that are not IP, the MAC addresses and EtherType (Linux's fallback
/// `jhash(skb->data, 2 * ETH_ALEN, skb->protocol)`).
public struct FlowHash {
    /// Hashes the flow of the inner Ethernet frame in `frame`. Never fails: whatever cannot be parsed
    /// contributes nothing beyond what was read before it.
    @inlinable @inline(__always)
    public static func hash(innerFrame frame: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        // Performance: the untagged IPv4 frame pods send takes a straight-line path inlined into the
        // encapsulator (callgrind: ~290 instructions a packet through the layered views, whose throwing
        // checks the optimiser keeps out of line); everything else takes the general path below, which
        // also handles the frames the fast path declines, so the result is the same by construction
        // (`FlowHashTests` checks the two agree on mutated frames).
        if let hash = untaggedIPv4Hash(frame, seed: seed) { return hash }
        return generalHash(innerFrame: frame, seed: seed)
    }

    /// The hash of an untagged IPv4 frame whose IPv4 header passes `IPv4Packet(checking:)`'s checks, read
    /// straight from the bytes; nil for any other frame.
    @inlinable @inline(__always)
    static func untaggedIPv4Hash(_ frame: UnsafeRawBufferPointer, seed: UInt32) -> UInt32? {
        let ip = 14
        guard frame.count >= ip + IPv4Packet.minimumHeaderLength, frame.getInteger(at: 12, as: UInt16.self) == 0x0800 else { return nil } // EthernetFrame.Field.etherType
        let first = frame.getInteger(at: ip, as: UInt8.self)
        let headerLength = Int(first & 0x0F) &* 4
        let totalLength = Int(frame.getInteger(at: ip + 2, as: UInt16.self)) // IPv4Packet.Field.totalLength
        // IPv4Packet(checking:): version 4, IHL >= 5, header and total length within the bytes.
        guard first >> 4 == 4, headerLength >= IPv4Packet.minimumHeaderLength, frame.count - ip >= headerLength,
              totalLength >= headerLength, totalLength <= frame.count - ip else { return nil }
        var state = Mixer(seed: seed)
        state.add(frame.getInteger(at: ip + 12, as: UInt32.self)) // IPv4Packet.Field.source
        state.add(frame.getInteger(at: ip + 16, as: UInt32.self)) // .destination
        let proto = frame.getInteger(at: ip + 9, as: UInt8.self) // .protocol
        state.add(UInt32(proto))
        // Not a fragment (MF clear, offset 0), TCP or UDP, and four bytes of ports inside the total length.
        // IPv4Packet.Field.flagsAndFragmentOffset; the ports are the transport header's first 4 bytes.
        if frame.getInteger(at: ip + 6, as: UInt16.self) & 0x3FFF == 0, proto == 6 || proto == 17, totalLength - headerLength >= 4 {
            state.add(frame.getInteger(at: ip + headerLength, as: UInt32.self))
        }
        return state.finish()
    }

    /// The hash through PacketWire's views: VLAN tags, IPv6, malformed IPv4 and non-IP frames.
    @usableFromInline
    static func generalHash(innerFrame frame: UnsafeRawBufferPointer, seed: UInt32) -> UInt32 {
        var state = Mixer(seed: seed)
        guard let ethernet = try? EthernetFrame(checking: frame) else {
            state.add(UInt32(truncatingIfNeeded: frame.count))
            return state.finish()
        }
        switch ethernet.etherType {
        case .ipv4:
            guard let ip = try? IPv4Packet(checking: ethernet.payload) else { break }
            state.add(ip.source.rawValue)
            state.add(ip.destination.rawValue)
            state.add(UInt32(ip.protocol.rawValue))
            if !ip.isFragment, ip.protocol == .tcp || ip.protocol == .udp, ip.payload.count >= UDPDatagram.Field.destinationPort.upperBound {
                // Both ports as one word (TCP and UDP open alike).
                state.add(ip.payload.getInteger(at: UDPDatagram.Field.sourcePort.lowerBound, as: UInt32.self))
            }
            return state.finish()
        case .ipv6:
            let payload = ethernet.payload
            let ip = IPv6Packet(unchecked: payload)
            guard payload.count >= IPv6Packet.headerLength, ip.version == 6 else { break }
            // Both addresses, 32 bits at a time.
            let addresses = IPv6Packet.Field.source.lowerBound..<IPv6Packet.Field.destination.upperBound
            for offset in stride(from: addresses.lowerBound, to: addresses.upperBound, by: 4) {
                state.add(payload.getInteger(at: offset, as: UInt32.self))
            }
            let nextHeader = ip.nextHeader.rawValue
            state.add(UInt32(nextHeader))
            let ports = UDPDatagram.Field.destinationPort.upperBound
            if nextHeader == IPProtocol.tcp.rawValue || nextHeader == IPProtocol.udp.rawValue, payload.count >= IPv6Packet.headerLength + ports {
                state.add(payload.getInteger(at: IPv6Packet.headerLength, as: UInt32.self))
            }
            return state.finish()
        default:
            break
        }
        // Both MAC addresses (EthernetFrame.Field.destination and .source, 12 bytes), 32 bits at a time.
        let macs = ethernet.bytes
        for offset in stride(from: EthernetFrame.Field.destination.lowerBound, to: EthernetFrame.Field.source.upperBound, by: 4) {
            state.add(macs.getInteger(at: offset, as: UInt32.self))
        }
        state.add(UInt32(ethernet.etherType.rawValue))
        return state.finish()
    }

    /// Linux `udp_flow_src_port`: folds the hash's halves and scales it into `range` (upper bound
    /// excluded), so one flow always gets one port.
    @inlinable
    public static func sourcePort(hash: UInt32, range: Range<UInt16>) -> UInt16 {
        guard range.count > 0 else { return range.lowerBound }
        let folded = hash ^ (hash << 16)
        return UInt16(truncatingIfNeeded: (UInt64(folded) * UInt64(range.count)) >> 32) &+ range.lowerBound
    }

    /// Murmur3-style word mixing: cheap, well distributed, and the same on every machine.
    @usableFromInline
    struct Mixer {
        @usableFromInline var state: UInt32
        @usableFromInline var length: UInt32 = 0

        @inlinable init(seed: UInt32) { state = seed }

        @inlinable
        mutating func add(_ word: UInt32) {
            var k = word &* 0xcc9e_2d51
            k = (k << 15) | (k >> 17)
            k = k &* 0x1b87_3593
            state ^= k
            state = (state << 13) | (state >> 19)
            state = state &* 5 &+ 0xe654_6b64
            length &+= 4
        }

        @inlinable
        mutating func finish() -> UInt32 {
            var h = state ^ length
            h ^= h >> 16
            h = h &* 0x85eb_ca6b
            h ^= h >> 13
            h = h &* 0xc2b2_ae35
            h ^= h >> 16
            return h
        }
    }
}
