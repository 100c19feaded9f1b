/// The kernel settings (`sysctl`) that change how a node's network behaves, with Linux 6.18's defaults.
/// A scenario sets them under `sysctl:`, by their sysctl names (`net.ipv4.tcp_syn_retries: 3`); every
/// node and pod of the scenario uses them (a pod's network namespace starts from the same values).
public struct Sysctls: Hashable, Sendable {
    /// `net.ipv4.tcp_syn_retries`: SYN retransmissions before `connect()` gives up.
    public var tcpSynRetries = 6
    /// `net.ipv4.tcp_syn_linear_timeouts`: SYN retransmissions at the initial RTO before exponential
    /// backoff; they are retried on top of `tcp_syn_retries` (net/ipv4/tcp_timer.c `tcp_write_timeout`).
    public var tcpSynLinearTimeouts = 4
    /// `net.ipv4.tcp_retries2`: data retransmissions before the connection is aborted (the limit is the
    /// time those retransmissions take from the minimum RTO, `retransmits_timed_out`).
    public var tcpRetries2 = 15
    /// `net.ipv4.tcp_rto_min_us`: the lowest retransmission timeout (RFC 6298 §2.4 allows Linux's 200 ms).
    public var tcpMinimumRTO: Nanoseconds = 200_000_000
    /// `net.ipv4.tcp_timestamps`, `net.ipv4.tcp_sack`, `net.ipv4.tcp_window_scaling`: the SYN options.
    public var tcpTimestamps = true
    public var tcpSACK = true
    public var tcpWindowScaling = true
    /// `net.ipv4.tcp_rmem` maximum: sets the window scale a SYN offers (32 MiB → 10 on 6.18).
    public var tcpReceiveBufferMaximum = 33_554_432
    /// `net.core.txrehash`: a TCP retransmission timeout picks a new flow hash, so the overlay's outer
    /// UDP source port (and an ECMP path) changes with each retry (`sk_rethink_txhash`).
    public var txRehash = true
    /// `net.ipv4.ip_forward_use_pmtu`: forwarding honours a learned path MTU (and answers ICMP
    /// fragmentation needed from it) instead of the interface MTU alone.
    public var ipForwardUsePMTU = false
    /// `net.ipv4.ipfrag_time`: how long a partly reassembled datagram is kept.
    public var ipFragmentTime: Nanoseconds = 30_000_000_000
    /// `net.ipv4.ip_default_ttl`.
    public var ipDefaultTTL: UInt8 = 64
    /// `net.netfilter.nf_conntrack_udp_timeout` and `_stream`: the UDP timeouts of every netfilter conntrack
    /// of the scenario (host firewalls, stateful middleboxes) whose firewall gives none of its own. A UDP entry
    /// moves to `_stream` only for a packet after a reply once it is older than 2 s (nf_conntrack_udp_packet).
    public var conntrackUDPTimeout: Nanoseconds = 30_000_000_000
    public var conntrackUDPStreamTimeout: Nanoseconds = 120_000_000_000
    /// `net.ipv4.icmp_ratelimit` (ms between ICMP errors to one destination after a burst) and
    /// `net.ipv4.icmp_msgs_burst`.
    public var icmpRateLimit: Nanoseconds = 1_000_000_000
    public var icmpMessagesBurst = 50

    public init() {}

    /// Sets the sysctl `name` (`net.ipv4.ip_forward_use_pmtu`) to `value` in the units the kernel takes.
    /// - Returns: false when the simulation does not model that sysctl or the value is out of its range.
    public mutating func set(_ name: String, to value: Int) -> Bool {
        guard let setting = Self.settings.first(where: { $0.name == name }) else { return false }
        switch setting.kind {
        case .count(let range), .seconds(let range), .milliseconds(let range), .microseconds(let range):
            guard range.contains(value) else { return false }
        case .boolean:
            guard (0...1).contains(value) else { return false }
        }
        setting.set(&self, value)
        return true
    }

    /// One sysctl the scenario format knows: its name, and how to read and set it.
    struct Setting: Sendable {
        let name: String
        enum Kind: Sendable { case count(ClosedRange<Int>), boolean, seconds(ClosedRange<Int>), milliseconds(ClosedRange<Int>), microseconds(ClosedRange<Int>) }
        let kind: Kind
        let set: @Sendable (inout Sysctls, Int) -> Void
    }

    static let settings: [Setting] = [
        Setting(name: "net.ipv4.tcp_syn_retries", kind: .count(1...127)) { $0.tcpSynRetries = $1 },
        Setting(name: "net.ipv4.tcp_syn_linear_timeouts", kind: .count(0...20)) { $0.tcpSynLinearTimeouts = $1 },
        Setting(name: "net.ipv4.tcp_retries2", kind: .count(0...255)) { $0.tcpRetries2 = $1 },
        Setting(name: "net.ipv4.tcp_rto_min_us", kind: .microseconds(1...120_000_000)) { $0.tcpMinimumRTO = Nanoseconds($1) * 1_000 },
        Setting(name: "net.ipv4.tcp_timestamps", kind: .boolean) { $0.tcpTimestamps = $1 != 0 },
        Setting(name: "net.ipv4.tcp_sack", kind: .boolean) { $0.tcpSACK = $1 != 0 },
        Setting(name: "net.ipv4.tcp_window_scaling", kind: .boolean) { $0.tcpWindowScaling = $1 != 0 },
        Setting(name: "net.ipv4.tcp_rmem_max", kind: .count(4096...1_073_741_824)) { $0.tcpReceiveBufferMaximum = $1 },
        Setting(name: "net.core.txrehash", kind: .boolean) { $0.txRehash = $1 != 0 },
        Setting(name: "net.ipv4.ip_forward_use_pmtu", kind: .boolean) { $0.ipForwardUsePMTU = $1 != 0 },
        Setting(name: "net.ipv4.ipfrag_time", kind: .seconds(1...86_400)) { $0.ipFragmentTime = Nanoseconds($1) * 1_000_000_000 },
        Setting(name: "net.ipv4.ip_default_ttl", kind: .count(1...255)) { $0.ipDefaultTTL = UInt8($1) },
        Setting(name: "net.netfilter.nf_conntrack_udp_timeout", kind: .seconds(1...86_400 * 30)) { $0.conntrackUDPTimeout = Nanoseconds($1) * 1_000_000_000 },
        Setting(name: "net.netfilter.nf_conntrack_udp_timeout_stream", kind: .seconds(1...86_400 * 30)) { $0.conntrackUDPStreamTimeout = Nanoseconds($1) * 1_000_000_000 },
        Setting(name: "net.ipv4.icmp_ratelimit", kind: .milliseconds(0...3_600_000)) { $0.icmpRateLimit = Nanoseconds($1) * 1_000_000 },
        Setting(name: "net.ipv4.icmp_msgs_burst", kind: .count(1...1_000_000)) { $0.icmpMessagesBurst = $1 },
    ]
}
