import PacketWire

/// How long an idle connection-tracking entry lives, per protocol and state, in nanoseconds. The
/// defaults are Linux's (`net.netfilter.nf_conntrack_*_timeout*`).
public struct ConntrackTimeouts: Hashable, Sendable {
    public static let second: UInt64 = 1_000_000_000

    /// UDP seen one way only (`nf_conntrack_udp_timeout`, 30 s).
    public var udp: UInt64 = 30 * second
    /// UDP seen both ways (`nf_conntrack_udp_timeout_stream`, 120 s).
    public var udpStream: UInt64 = 120 * second
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
    /// The timeout in force for an entry: by protocol, and whether a reply was seen (UDP `stream`, TCP
    /// established) or the connection is closing (TCP after FIN or RST). A simplification of Linux's TCP
    /// states (net/netfilter/nf_conntrack_proto_tcp.c) to three.
    public func timeout(for proto: IPProtocol, seenReply: Bool, closing: Bool) -> UInt64 {
        switch proto {
        case .udp: seenReply ? udpStream : udp
        case .tcp: closing ? tcpClosing : (seenReply ? tcpEstablished : tcpUnestablished)
        case .icmp, .icmpv6: icmp
        default: other
        }
    }

    /// The sysctl-style name of that timeout, for explanations: `udp stream timeout`.
    public static func name(for proto: IPProtocol, seenReply: Bool, closing: Bool) -> String {
        switch proto {
        case .udp: seenReply ? "udp stream timeout" : "udp timeout"
        case .tcp: closing ? "tcp time-wait timeout" : (seenReply ? "tcp established timeout" : "tcp syn-sent timeout")
        case .icmp, .icmpv6: "icmp timeout"
        default: "generic timeout"
        }
    }
}
