import PacketWire

/// How long an idle connection-tracking entry lives, per protocol and state, in nanoseconds. The
/// defaults are Linux's (`net.netfilter.nf_conntrack_*_timeout*`).
public struct ConntrackTimeouts: Hashable, Sendable {
    public static let second: UInt64 = 1_000_000_000

    /// UDP not (yet) a stream (`nf_conntrack_udp_timeout`, 30 s): one way only, a single reply, or
    /// replies within the entry's first 2 s.
    public var udp: UInt64 = 30 * second
    /// UDP that is a stream (`nf_conntrack_udp_timeout_stream`, 120 s): a packet came after a reply once
    /// the entry was older than 2 s (``ConnectionEntry/assured``).
    public var udpStream: UInt64 = 120 * second
    /// How old a UDP entry must be before a packet after a reply makes it a stream: 2 s
    /// (net/netfilter/nf_conntrack_proto_udp.c `nf_conntrack_udp_packet`: `stream_ts = 2 * HZ + jiffies`
    /// when the entry is created).
    public static let udpStreamAge: UInt64 = 2 * second
    /// TCP after the handshake (`nf_conntrack_tcp_timeout_established`, 5 days).
    public var tcpEstablished: UInt64 = 432_000 * second
    /// TCP before a reply (`nf_conntrack_tcp_timeout_syn_sent`, 120 s).
    public var tcpUnestablished: UInt64 = 120 * second
    /// TCP after FIN (`nf_conntrack_tcp_timeout_time_wait`, 120 s).
    public var tcpClosing: UInt64 = 120 * second
    /// ICMP (`nf_conntrack_icmp_timeout`, 30 s).
    public var icmp: UInt64 = 30 * second
    /// Any other protocol (`nf_conntrack_generic_timeout`, 600 s).
    public var other: UInt64 = 600 * second

    public init() {}
}

extension ConntrackTimeouts {
    /// The timeout in force for an entry: by protocol, and for UDP whether it is a stream (`assured`,
    /// see ``ConnectionEntry/assured``: a reply alone is not enough), for TCP whether a reply was seen
    /// (established) or the connection is closing (after FIN or RST). A simplification of Linux's TCP
    /// states (net/netfilter/nf_conntrack_proto_tcp.c) to three.
    public func timeout(for proto: IPProtocol, seenReply: Bool, assured: Bool, closing: Bool) -> UInt64 {
        switch proto {
        case .udp: assured ? udpStream : udp
        case .tcp: closing ? tcpClosing : (seenReply ? tcpEstablished : tcpUnestablished)
        case .icmp, .icmpv6: icmp
        default: other
        }
    }

    /// The sysctl-style name of that timeout, for explanations: `udp stream timeout`.
    public static func name(for proto: IPProtocol, seenReply: Bool, assured: Bool, closing: Bool) -> String {
        switch proto {
        case .udp: assured ? "udp stream timeout" : "udp timeout"
        case .tcp: closing ? "tcp time-wait timeout" : (seenReply ? "tcp established timeout" : "tcp syn-sent timeout")
        case .icmp, .icmpv6: "icmp timeout"
        default: "generic timeout"
        }
    }
}

extension ConntrackTimeouts {
    /// Whether a UDP packet accepted at `now` makes its entry a stream, as `nf_conntrack_udp_packet`
    /// (net/netfilter/nf_conntrack_proto_udp.c) decides: only when the entry had already seen a reply
    /// (`IPS_SEEN_REPLY`, which `nf_conntrack_in` sets after the protocol handler, so the first reply
    /// itself does not count) and the entry is more than 2 s old (`time_after(jiffies, stream_ts)`); it then
    /// sets `IPS_ASSURED` and refreshes with `nf_conntrack_udp_timeout_stream`. Before that every packet,
    /// replies included, refreshes the entry with `nf_conntrack_udp_timeout`.
    public static func udpBecomesStream(seenReplyBefore: Bool, createdAt: UInt64, now: UInt64) -> Bool {
        let (streamAt, overflow) = createdAt.addingReportingOverflow(udpStreamAge)
        return seenReplyBefore && !overflow && now > streamAt
    }
}
