import PacketWire

/// What a pod's TCP sockets take from the sysctls and the interface: the SYN's options and windows, the
/// timers' limits. Both ends of a simulated connection use the same (every pod starts from the scenario's
/// sysctls, as a network namespace starts from the defaults).
struct TCPSocketSettings {
    var synRetries: Int
    var synLinearTimeouts: Int
    var retries2: Int
    var minimumRTO: Nanoseconds
    var timestamps: Bool
    var sack: Bool
    /// The window scale the SYN offers, nil without `tcp_window_scaling`.
    var windowScale: UInt8?
    /// The MSS option: the interface MTU less 20 bytes of IPv4 and 20 of TCP (`tcp_advertise_mss`).
    var advertisedMSS: Int

    /// `TCP_INIT_CWND` (RFC 6928): ten segments in the first flight.
    static let initialCongestionWindow = 10

    init(sysctls: Sysctls, mtu: Int) {
        synRetries = sysctls.tcpSynRetries
        synLinearTimeouts = sysctls.tcpSynLinearTimeouts
        retries2 = sysctls.tcpRetries2
        minimumRTO = sysctls.tcpMinimumRTO
        timestamps = sysctls.tcpTimestamps
        sack = sysctls.tcpSACK
        advertisedMSS = max(88, mtu - IPv4Packet.minimumHeaderLength - TCPSegment.minimumHeaderLength)
        if sysctls.tcpWindowScaling {
            // net/ipv4/tcp_output.c `tcp_select_initial_window`: space = max(tcp_rmem[2], rmem_max
            // (212992)); rcv_wscale = ilog2(space) - 15, at most TCP_MAX_WSCALE (14). 32 MiB → 10.
            let space = max(sysctls.tcpReceiveBufferMaximum, 212_992)
            let log2 = Int.bitWidth - 1 - space.leadingZeroBitCount
            windowScale = UInt8(min(14, max(0, log2 - 15)))
        } else {
            windowScale = nil
        }
    }

    /// Option bytes on every segment after the SYN: 12 with timestamps (`nop, nop, TS`).
    var optionOverhead: Int { timestamps ? 12 : 0 }

    /// The window of a SYN or SYN-ACK (unscaled, RFC 7323 §2.2): `tcp_select_initial_window` rounds the
    /// space down to a multiple of the MSS it is given, within 16 bits. Measured on 6.18 at MTU 1450:
    /// 64860 in the SYN (MSS 1410), 64308 in the SYN-ACK (MSS 1410 − 12 for timestamps); 64240 at
    /// MTU 1500.
    func synWindow(segmentSize: Int) -> UInt16 {
        UInt16(65535 / segmentSize * segmentSize)
    }

    /// The window field of later segments, scaled: 64 × 1024 on 6.18 (the 64 KiB `rcv_wnd` a fresh
    /// socket offers, `tcp_select_window`), as measured; unscaled, the SYN's.
    func window(segmentSize: Int) -> UInt16 {
        guard let shift = windowScale else { return synWindow(segmentSize: segmentSize) }
        return UInt16(min(65535, 65536 >> Int(shift)))
    }
}
