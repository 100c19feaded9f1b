import PacketWire

/// How a Linux host answers a packet it cannot deliver with an ICMP error: net/ipv4/icmp.c `__icmp_send`.
/// One per host (a node, a router, a pod's network namespace), for its rate limits and identification.
///
/// - The error quotes as much of the offending datagram as fits in 576 bytes (RFC 1812 §4.3.2.3): at most
///   548 bytes after the error's own IPv4 and ICMP headers.
/// - TOS is `IPTOS_PREC_INTERNETCONTROL` (0xc0) with the offending packet's TOS bits (`RT_TOS`); TTL the
///   host's `ip_default_ttl`; DF clear (the ICMP socket does no PMTU discovery); the identification counts
///   per destination, from a value drawn at random (here, from the scenario's seed).
/// - Errors are rate-limited per destination (`icmp_ratelimit`, a token bucket holding six intervals,
///   `inet_peer_xrlim_allow`) and for the whole host (`icmp_msgs_burst`, `icmp_msgs_per_sec` = 1000), for
///   the types in `icmp_ratemask` (destination unreachable, source quench, time exceeded, parameter
///   problem); fragmentation needed is never limited, so path-MTU discovery keeps working.
struct ICMPErrorSender {
    /// What the RFC 1812 576-byte limit leaves for the quote.
    static let quoteLimit = 576 - IPv4Packet.minimumHeaderLength - ICMPv4Message.headerLength

    private var peers: [IPv4Address: PeerBucket] = [:]
    private var globalTokens: Double
    private var globalLast: Nanoseconds = 0
    private var identification: [IPv4Address: UInt16] = [:]
    private let seed: UInt64
    let sysctls: Sysctls

    private struct PeerBucket {
        var tokens: Nanoseconds
        var last: Nanoseconds
    }

    init(seed: UInt64, sysctls: Sysctls) {
        self.seed = seed
        self.sysctls = sysctls
        globalTokens = Double(sysctls.icmpMessagesBurst)
    }

    /// `net.ipv4.icmp_ratemask`'s default, 6168: destination unreachable (3), source quench (4), time
    /// exceeded (11), parameter problem (12) are limited; a redirect (5) has its own limiter.
    static let rateMask: UInt32 = 0x1818

    /// Whether an error of `type`/`code` to `destination` may be sent now (net/ipv4/icmp.c
    /// `icmpv4_mask_allow`, `icmpv4_global_allow`, `icmpv4_xrlim_allow`).
    mutating func allows(type: UInt8, code: UInt8, to destination: IPv4Address, now: Nanoseconds) -> Bool {
        guard type < 32, Self.rateMask & (1 << UInt32(type)) != 0, !(type == 3 && code == 4) else { return true }
        // icmp_global_allow: 1000 a second, bursts of icmp_msgs_burst.
        let perSecond = 1000.0
        globalTokens = min(Double(sysctls.icmpMessagesBurst), globalTokens + Double(now - globalLast) / 1e9 * perSecond)
        globalLast = now
        guard globalTokens >= 1 else { return false }
        // inet_peer_xrlim_allow: tokens are time, capped at XRLIM_BURST_FACTOR (6) intervals.
        let interval = sysctls.icmpRateLimit
        guard interval > 0 else { globalTokens -= 1; return true }
        var bucket = peers[destination] ?? PeerBucket(tokens: 6 * interval, last: now)
        bucket.tokens = min(6 * interval, bucket.tokens + (now - bucket.last))
        bucket.last = now
        let allowed = bucket.tokens >= interval
        if allowed { bucket.tokens -= interval; globalTokens -= 1 }
        peers[destination] = bucket
        return allowed
    }

    /// The next identification toward `destination` (Linux `ip_idents_reserve`: a counter per hash of the
    /// destination, starting at a random value).
    mutating func nextIdentification(toward destination: IPv4Address) -> UInt16 {
        let next = (identification[destination] ?? UInt16(truncatingIfNeeded: stableHash("\(destination)") ^ seed)) &+ 1
        identification[destination] = next
        return next
    }

    /// Builds an error of `kind` about `offending` (an IPv4 packet, from its header) from `source`, as
    /// `__icmp_send` does, into `buffer`. False when the rate limit holds it back (`buffer` is untouched).
    /// - Parameter quoteLimit: bytes of the offending packet quoted at most: RFC 1812's 548 (Linux), or
    ///   the IP header + 8 bytes of a router that quotes RFC 792's minimum (``minimalQuote``).
    mutating func build(_ buffer: PacketBuffer, _ kind: ICMPv4Header.Kind, about offending: UnsafeRawBufferPointer,
                        from source: IPv4Address, sourceMAC: MACAddress, nextHopMAC: MACAddress,
                        now: Nanoseconds, quoteLimit: Int = ICMPErrorSender.quoteLimit) -> Bool {
        guard let quoted = try? PartialIPv4Packet(offending), let destination = quoted.source else { return false }
        let (type, code): (UInt8, UInt8) = switch kind {
        case .destinationUnreachable(let code, _): (3, code.rawValue)
        case .timeExceeded(let code): (11, code.rawValue)
        case .echoRequest: (8, 0)
        case .echoReply: (0, 0)
        case let .other(type, code, _): (type.rawValue, code)
        }
        guard allows(type: type, code: code, to: destination, now: now) else { return false }
        let length = min(quoted.totalLength ?? offending.count, offending.count, quoteLimit)
        let tos = 0xC0 | ((quoted.typeOfService ?? 0) & 0x1E)
        PodPackets.error(buffer, PodPackets.Addressing(sourceMAC: sourceMAC, destinationMAC: nextHopMAC, source: source,
                                                       destination: destination, timeToLive: sysctls.ipDefaultTTL,
                                                       typeOfService: tos, dontFragment: false,
                                                       identification: nextIdentification(toward: destination)),
                         kind, quoting: offending, length: length)
        return true
    }

    /// RFC 792's minimum quote: the offending packet's IP header and the first 8 bytes of its data.
    static func minimalQuote(of offending: UnsafeRawBufferPointer) -> Int {
        ((try? PartialIPv4Packet(offending))?.headerLength ?? IPv4Packet.minimumHeaderLength) + 8
    }

    /// ICMPv6 Packet Too Big (RFC 4443 §3.2) about `offending` (an IPv6 packet, from its header), as
    /// net/ipv6/icmp.c `icmp6_send` builds it: as much of the packet as fits in the IPv6 minimum MTU of
    /// 1280 bytes (1232 after the error's own headers), hop limit 64, traffic class 0. Packet Too Big is
    /// outside `icmpv6_ratemask`'s default (0-1,3-127), so it is never rate-limited. IPv6 has no DF bit:
    /// a router never fragments (RFC 8200 §5), every packet too big for a link is answered this way.
    static func packetTooBig(_ buffer: PacketBuffer, about offending: UnsafeRawBufferPointer, mtu: Int,
                             from source: IPv6Address, sourceMAC: MACAddress, nextHopMAC: MACAddress) -> Bool {
        guard let quoted = try? IPv6Packet(checking: offending) else { return false }
        let quoteLength = min(offending.count, 1280 - IPv6Packet.headerLength - ICMPv6Message.headerLength)
        let icmpLength = ICMPv6Message.headerLength + quoteLength
        let ethernet = EthernetFrame.minimumHeaderLength
        let start = ethernet + IPv6Packet.headerLength
        guard let bytes = buffer.append(start + icmpLength) else { return false }
        bytes.slice((start + ICMPv6Message.headerLength)..<(start + icmpLength)).copyMemory(from: offending.slice(0..<quoteLength))
        ICMPv6Header(.packetTooBig(mtu: UInt32(truncatingIfNeeded: mtu)), payloadLength: quoteLength)
            .emit(into: bytes.slice(start..<(start + icmpLength)), checksum: .ipv6(source: source, destination: quoted.source))
        IPv6Header(payloadLength: icmpLength, nextHeader: .icmpv6, hopLimit: 64, source: source, destination: quoted.source)
            .emit(into: bytes.slice(ethernet..<start))
        EthernetHeader(destination: nextHopMAC, source: sourceMAC, etherType: .ipv6).emit(into: bytes.slice(0..<ethernet))
        return true
    }
}
