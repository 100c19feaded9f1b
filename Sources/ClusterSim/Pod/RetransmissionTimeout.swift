/// A TCP socket's retransmission timeout, as Linux 6.18 keeps it: RFC 6298's estimator in
/// net/ipv4/tcp_input.c `tcp_rtt_estimator` and `tcp_set_rto`, the backoff of net/ipv4/tcp_timer.c
/// `tcp_retransmit_timer`, and when to give up (`tcp_write_timeout`, `retransmits_timed_out`,
/// `tcp_model_timeout`).
///
/// Linux's estimator is RFC 6298's with one difference that matters on a fast network: the minimum RTO
/// bounds the variance term, not the sum (`rttvar_us = max(mdev_max_us, tcp_rto_min_us)`), so the RTO
/// is srtt + at least 200 ms, never exactly 200 ms. The timeout is then held in jiffies
/// (`usecs_to_jiffies` rounds up): 4 ms ticks on this machine's kernel (CONFIG_HZ=250).
struct RetransmissionTimeout {
    /// `TCP_TIMEOUT_INIT` (RFC 6298 §2.1): the RTO before any RTT sample, also the SYN's.
    static let initial: Nanoseconds = 1_000_000_000
    /// `TCP_RTO_MAX` (`tcp_rto_max_ms`' default): the backoff stops doubling here.
    static let maximum: Nanoseconds = 120_000_000_000
    /// One jiffy: CONFIG_HZ=250 on the 6.18 kernel the testbed runs on (`/proc/config.gz`).
    static let tick: Nanoseconds = 4_000_000

    let minimum: Nanoseconds
    /// Smoothed RTT, scaled by 8 as `tp->srtt_us` (microseconds); 0 before the first sample.
    private(set) var smoothedRTT8: Int64 = 0
    /// `mdev_us`, `mdev_max_us`, `rttvar_us` (microseconds; mdev scaled by 4).
    private var meanDeviation: Int64 = 0
    private var maximumDeviation: Int64 = 0
    private var variance: Int64 = 0
    /// `rtt_seq`: the variance is re-aged once per window of data, when snd_una passes it.
    private var varianceSequence: UInt32 = 0
    /// `icsk_rto`: the timeout the timer is armed with now (backed off on each expiry).
    private(set) var current: Nanoseconds = RetransmissionTimeout.initial

    init(minimum: Nanoseconds) {
        self.minimum = minimum
    }

    /// One RTT sample, `tcp_rtt_estimator` then `tcp_set_rto` (which also ends any backoff: RFC 6298
    /// §5.7, `icsk_backoff = 0` in `tcp_ack_update_rtt`).
    /// - Parameters:
    ///   - rtt: the measured round trip (never of a retransmitted segment: Karn's algorithm).
    ///   - acknowledged: snd_una after this ACK; `sendNext`: snd_nxt.
    mutating func sample(_ rtt: Nanoseconds, acknowledged: UInt32, sendNext: UInt32) {
        var m = max(1, Int64(rtt / 1_000))
        let minimumMicroseconds = Int64(minimum / 1_000)
        var srtt = smoothedRTT8
        if srtt != 0 {
            m -= srtt >> 3
            srtt += m
            if m < 0 {
                m = -m
                m -= meanDeviation >> 2
                if m > 0 { m >>= 3 }
            } else {
                m -= meanDeviation >> 2
            }
            meanDeviation += m
            if meanDeviation > maximumDeviation {
                maximumDeviation = meanDeviation
                if maximumDeviation > variance { variance = maximumDeviation }
            }
            if Int32(bitPattern: acknowledged &- varianceSequence) > 0 {
                if maximumDeviation < variance { variance -= (variance - maximumDeviation) >> 2 }
                varianceSequence = sendNext
                maximumDeviation = minimumMicroseconds
            }
        } else {
            srtt = m << 3
            meanDeviation = m << 1
            variance = max(meanDeviation, minimumMicroseconds)
            maximumDeviation = variance
            varianceSequence = sendNext
        }
        smoothedRTT8 = max(1, srtt)
        // __tcp_set_rto: srtt + rttvar, in jiffies (rounded up), at most TCP_RTO_MAX (tcp_bound_rto).
        let microseconds = (smoothedRTT8 >> 3) + variance
        current = min(Self.maximum, Self.roundedUpToTick(Nanoseconds(microseconds) * 1_000))
    }

    /// The timer expired: `icsk_rto = min(icsk_rto << 1, TCP_RTO_MAX)`.
    mutating func backOff() {
        current = min(current * 2, Self.maximum)
    }

    static func roundedUpToTick(_ time: Nanoseconds) -> Nanoseconds {
        (time + tick - 1) / tick * tick
    }

    /// `tcp_model_timeout`: how long `boundary` retransmissions take from `base` doubling up to
    /// `TCP_RTO_MAX` — the time after which `retransmits_timed_out` gives up. With `tcp_retries2` = 15
    /// and the 200 ms `TCP_RTO_MIN`: 1023 × 0.2 s + 6 × 120 s = 924.6 s.
    static func modelTimeout(boundary: Int, base: Nanoseconds) -> Nanoseconds {
        // linear_backoff_thresh = ilog2(TCP_RTO_MAX / rto_base)
        let ratio = max(1, maximum / max(1, base))
        let threshold = Nanoseconds.bitWidth - 1 - ratio.leadingZeroBitCount
        if boundary <= threshold {
            return Nanoseconds((2 << boundary) - 1) * base
        }
        return Nanoseconds((2 << threshold) - 1) * base + Nanoseconds(boundary - threshold) * maximum
    }
}
