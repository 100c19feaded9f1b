import PacketWire

/// The sending side of a TCP connection, as a value-type state machine: `connect`, then `handle` each
/// arriving segment, `timerFired`, `pathMTUReduced` and `unreachable`, each appending the actions to
/// carry out. Everything it does is what a Linux 6.18 socket does with the default sysctls:
///
/// - The SYN carries MSS, SACK-permitted, timestamps and window scale (`tcp_syn_options`); later
///   segments the timestamps, so the MSS is the path MTU less 52 bytes (1398 at MTU 1450).
/// - SYNs are retransmitted at the initial RTO (1 s) `tcp_syn_linear_timeouts` times, then with
///   exponential backoff, `tcp_syn_retries` + `tcp_syn_linear_timeouts` retransmissions in all before
///   `connect()` fails with ETIMEDOUT (net/ipv4/tcp_timer.c `tcp_retransmit_timer`, `tcp_write_timeout`):
///   SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35 and 67 s, failure at 131 s. (This machine's kernel sends
///   the last two at 69 s and fails at 134 s: its timer wheel fires timers of more than 16 s up to one
///   2 s granule late, kernel/time/timer.c `calc_wheel_index`; the simulator keeps the nominal times.)
/// - Data is retransmitted on the RTO of ``RetransmissionTimeout`` (RFC 6298 as Linux computes it,
///   Karn's algorithm, doubling on each expiry up to 120 s); an expiry resends the first unacknowledged
///   segment with the congestion window at one (`tcp_enter_loss`), and the rest follows as ACKs open
///   the window (slow start). The connection gives up when `tcp_retries2` retransmissions would have
///   taken longer than their model time (`retransmits_timed_out`: 924.6 s for 15).
/// - Each expiry asks for a new flow hash (`sk_rethink_txhash`, with `net.core.txrehash`).
/// - ICMP fragmentation needed lowers the MSS and resends at once (RFC 1191 §6.3,
///   `tcp_v4_mtu_reduced`); any other destination unreachable or time exceeded about the SYN ends
///   `connect()` at once (net/ipv4/tcp_ipv4.c `tcp_v4_err`: in SYN_SENT every such error is fatal);
///   once established it is only recorded, and retransmission goes on (RFC 1122 §4.2.3.9).
/// - An RST ends it with ECONNREFUSED in SYN_SENT (`tcp_reset`).
///
/// Not modelled: the tail loss probe (RACK-TLP, RFC 8985) and SACK-based recovery; delayed ACKs at the
/// receiver; CUBIC's growth (slow start, then one segment per window).
struct TCPClientConnection {
    enum Phase { case synSent, established, finSent, closed }

    private(set) var phase = Phase.synSent
    /// The handshake completed (a failure after it is the connection's, not connect()'s).
    private(set) var wasEstablished = false
    let localPort: UInt16
    /// Where the connection was opened to (a pod, or a Service's ClusterIP and port).
    let remoteAddress: IPv4Address
    let remotePort: UInt16
    let initialSequence: UInt32
    let settings: TCPSocketSettings
    /// `ts_off` (`secure_tcp_ts_off`): added to the millisecond clock for TSval.
    let timestampOffset: UInt32
    private var unacknowledged: UInt32
    private var nextToSend: UInt32
    /// The highest sequence ever sent (`snd_nxt` before a loss rewinds the send point).
    private var highestSent: UInt32
    let total: Int
    /// The MSS data is sent with (`mss_cache`): options excluded.
    private(set) var mss: Int
    private(set) var timerGeneration = 0
    /// The next byte expected from the server.
    private var receiveNext: UInt32 = 0
    /// What the peer offered: window scale, timestamps (its last TSval, echoed), its window in bytes.
    private var peerWindowScale: UInt8 = 0
    private var peerTimestamps = false
    private var recentTimestamp: UInt32 = 0
    private var peerWindow = 65535
    /// Congestion window and slow-start threshold, in segments.
    private var congestionWindow = TCPSocketSettings.initialCongestionWindow
    private var slowStartThreshold = Int.max
    private var acknowledgedInWindow = 0
    private(set) var rto: RetransmissionTimeout
    /// `icsk_retransmits`: expiries since the last ACK of new data; `total_rto`: all of them.
    private(set) var retransmits = 0
    private var totalRTO = 0
    /// `retrans_stamp`: when the retransmitted data was first sent (here, when the expired timer was armed).
    private var retransmitStart: Nanoseconds?
    /// When the running timer was armed; nil when none runs.
    private var timerArmedAt: Nanoseconds?
    /// Karn's algorithm: the segment being timed (its end) and when it left; nil after a retransmission.
    private var timedSegment: (end: UInt32, sentAt: Nanoseconds)?
    private var synSentAt: Nanoseconds = 0

    init(localPort: UInt16, remoteAddress: IPv4Address, remotePort: UInt16, initialSequence: UInt32,
         timestampOffset: UInt32, total: Int, settings: TCPSocketSettings) {
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.initialSequence = initialSequence
        self.timestampOffset = timestampOffset
        self.settings = settings
        unacknowledged = initialSequence
        nextToSend = initialSequence &+ 1
        highestSent = nextToSend
        self.total = total
        mss = settings.advertisedMSS - settings.optionOverhead
        rto = RetransmissionTimeout(minimum: settings.minimumRTO)
    }

    var acknowledgedBytes: Int { Int(unacknowledged &- initialSequence &- 1) }
    var sentBytes: Int { Int(nextToSend &- initialSequence &- 1) }

    /// TSval: the millisecond clock (`tcp_time_stamp_ts`) plus the connection's offset.
    private func timestampValue(_ now: Nanoseconds) -> UInt32 {
        UInt32(truncatingIfNeeded: now / 1_000_000) &+ timestampOffset
    }

    private func header(sequence: UInt32, flags: TCPFlags, payload: Int = 0, now: Nanoseconds) -> TCPSegmentHeader {
        TCPSegmentHeader(sourcePort: localPort, destinationPort: remotePort, sequenceNumber: sequence,
                         acknowledgmentNumber: receiveNext, flags: flags, window: settings.window(segmentSize: mss),
                         payloadLength: payload,
                         timestamps: peerTimestamps ? (timestampValue(now), recentTimestamp) : nil)
    }

    /// Opens the connection: the SYN, and its timer.
    mutating func connect(now: Nanoseconds, into actions: inout [TCPAction]) {
        synSentAt = now
        sendSYN(now: now, into: &actions)
    }

    private mutating func sendSYN(now: Nanoseconds, into actions: inout [TCPAction]) {
        let segment = TCPSegmentHeader(
            sourcePort: localPort, destinationPort: remotePort, sequenceNumber: initialSequence, flags: .syn,
            window: settings.synWindow(segmentSize: settings.advertisedMSS),
            maximumSegmentSize: UInt16(truncatingIfNeeded: settings.advertisedMSS), sackPermitted: settings.sack,
            timestamps: settings.timestamps ? (timestampValue(now), 0) : nil, windowScale: settings.windowScale)
        actions.append(.send(segment, carriesFlow: true))
        arm(now: now, into: &actions)
    }

    private mutating func arm(now: Nanoseconds, into actions: inout [TCPAction]) {
        timerGeneration += 1
        timerArmedAt = now
        actions.append(.armTimer(delay: rto.current, generation: timerGeneration))
    }

    private mutating func stopTimer() {
        timerGeneration += 1
        timerArmedAt = nil
    }

    /// Sends as many segments as the congestion and receive windows allow from `nextToSend`, then FIN
    /// once everything is acknowledged.
    private mutating func sendData(now: Nanoseconds, into actions: inout [TCPAction]) {
        guard phase == .established else { return }
        var sentAny = false
        while sentBytes < total {
            let inFlight = Int(nextToSend &- unacknowledged)
            let size = min(mss, total - sentBytes)
            guard inFlight + size <= congestionWindow * mss, inFlight + size <= peerWindow else { break }
            let retransmission = Int32(bitPattern: nextToSend &- highestSent) < 0
            actions.append(.send(header(sequence: nextToSend, flags: [.ack, .psh], payload: size, now: now), carriesFlow: true))
            nextToSend &+= UInt32(size)
            if Int32(bitPattern: nextToSend &- highestSent) > 0 { highestSent = nextToSend }
            if !retransmission && timedSegment == nil && retransmits == 0 { timedSegment = (nextToSend, now) }
            sentAny = true
        }
        if sentBytes >= total && acknowledgedBytes >= total && phase == .established {
            phase = .finSent
            actions.append(.send(header(sequence: nextToSend, flags: [.fin, .ack], now: now), carriesFlow: false))
            // The FIN takes one sequence number.
            highestSent = nextToSend &+ 1
            sentAny = true
        }
        // The RTO timer runs while data is outstanding; sending more does not restart it
        // (`tcp_event_new_data_sent` arms it only when nothing was in flight).
        if sentAny && timerArmedAt == nil { arm(now: now, into: &actions) }
    }

    /// A segment from the server.
    mutating func handle(_ segment: TCPSegmentFields, now: Nanoseconds, into actions: inout [TCPAction]) {
        if segment.flags.contains(.rst) {
            // tcp_validate_incoming / tcp_reset: in SYN_SENT an RST acknowledging the SYN refuses the
            // connection; later, an in-window RST resets it.
            guard phase != .closed else { return }
            if phase == .synSent && !(segment.flags.contains(.ack) && segment.acknowledgment == initialSequence &+ 1) { return }
            phase = .closed
            stopTimer()
            actions.append(.failed(.refused))
            return
        }
        if segment.flags.contains(.syn) && segment.flags.contains(.ack) && phase == .synSent {
            guard segment.acknowledgment == initialSequence &+ 1 else { return }
            phase = .established
            wasEstablished = true
            unacknowledged = initialSequence &+ 1
            nextToSend = unacknowledged
            highestSent = nextToSend
            receiveNext = segment.sequence &+ 1
            // The options both sides agreed on (tcp_rcv_synsent_state_process).
            peerTimestamps = settings.timestamps && segment.timestampValue != nil
            recentTimestamp = segment.timestampValue ?? 0
            peerWindowScale = settings.windowScale != nil ? (segment.windowScale ?? 0) : 0
            peerWindow = Int(segment.window)
            let peerMSS = Int(segment.maximumSegmentSize ?? 536)
            mss = min(settings.advertisedMSS, peerMSS) - (peerTimestamps ? 12 : 0)
            // The SYN's round trip, unless it was retransmitted (Karn).
            if retransmits == 0 { rto.sample(now - synSentAt, acknowledged: unacknowledged, sendNext: nextToSend) }
            retransmits = 0
            retransmitStart = nil
            stopTimer()
            actions.append(.send(header(sequence: nextToSend, flags: .ack, now: now), carriesFlow: false))
            sendData(now: now, into: &actions)
            return
        }
        guard phase == .established || phase == .finSent else { return }
        if let value = segment.timestampValue, peerTimestamps { recentTimestamp = value }
        peerWindow = Int(segment.window) << Int(peerWindowScale)
        let acknowledged = Int32(bitPattern: segment.acknowledgment &- unacknowledged)
        let advanced = acknowledged > 0 && Int32(bitPattern: segment.acknowledgment &- highestSent &- 1) < 0
        if advanced {
            unacknowledged = segment.acknowledgment
            // An ACK beyond what was resent after a loss moves the send point with it (never past the data).
            let dataEnd = initialSequence &+ 1 &+ UInt32(truncatingIfNeeded: total)
            if Int32(bitPattern: nextToSend &- unacknowledged) < 0 {
                nextToSend = Int32(bitPattern: unacknowledged &- dataEnd) > 0 ? dataEnd : unacknowledged
            }
            if let timed = timedSegment, Int32(bitPattern: unacknowledged &- timed.end) >= 0 {
                rto.sample(now - timed.sentAt, acknowledged: unacknowledged, sendNext: nextToSend)
                timedSegment = nil
            }
            retransmits = 0
            retransmitStart = nil
            grow(acknowledgedSegments: (Int(acknowledged) + mss - 1) / mss)
            // tcp_rearm_rto: restart while data is outstanding, stop when all is acknowledged.
            stopTimer()
            if Int32(bitPattern: highestSent &- unacknowledged) > 0 { arm(now: now, into: &actions) }
        }
        if segment.flags.contains(.fin) && phase == .finSent {
            phase = .closed
            stopTimer()
            receiveNext = segment.sequence &+ 1
            actions.append(.completed)
            actions.append(.send(header(sequence: nextToSend &+ 1, flags: .ack, now: now), carriesFlow: false))
            return
        }
        if advanced { sendData(now: now, into: &actions) }
    }

    /// Slow start below the threshold, then one segment per window (Reno's line; CUBIC's curve is not
    /// modelled).
    private mutating func grow(acknowledgedSegments: Int) {
        if congestionWindow < slowStartThreshold {
            congestionWindow += acknowledgedSegments
        } else {
            acknowledgedInWindow += acknowledgedSegments
            if acknowledgedInWindow >= congestionWindow {
                acknowledgedInWindow = 0
                congestionWindow += 1
            }
        }
    }

    /// The retransmission timer fired (ignored when the connection re-armed or stopped it since).
    mutating func timerFired(generation: Int, now: Nanoseconds, into actions: inout [TCPAction]) {
        guard generation == timerGeneration, phase != .closed, let armedAt = timerArmedAt else { return }
        timerArmedAt = nil
        // tcp_write_timeout: has it gone too far?
        let expired: Bool
        if phase == .synSent {
            expired = retransmits >= settings.synRetries + settings.synLinearTimeouts
        } else if retransmits > 0, let start = retransmitStart {
            expired = now - start >= RetransmissionTimeout.modelTimeout(boundary: settings.retries2, base: 200_000_000)
        } else {
            expired = false
        }
        guard !expired else {
            phase = .closed
            actions.append(.failed(.timedOut))
            return
        }
        actions.append(.rehash)
        // tcp_update_rto_stats, then the retransmission, then the backoff (tcp_retransmit_timer).
        if retransmitStart == nil { retransmitStart = armedAt }
        retransmits += 1
        totalRTO += 1
        timedSegment = nil
        switch phase {
        case .synSent:
            actions.append(.retransmitted(segments: 1))
            if totalRTO > settings.synLinearTimeouts { rto.backOff() }
            sendSYN(now: now, into: &actions)
        case .established, .finSent:
            // tcp_enter_loss: everything outstanding is lost; the window drops to one segment and the
            // head of the queue goes again.
            let outstanding = Int(highestSent &- unacknowledged)
            slowStartThreshold = max(2, min(congestionWindow, (outstanding + mss - 1) / mss) / 2)
            congestionWindow = 1
            acknowledgedInWindow = 0
            actions.append(.retransmitted(segments: 1))
            rto.backOff()
            nextToSend = unacknowledged
            if phase == .finSent && acknowledgedBytes >= total {
                // Only the FIN is outstanding.
                actions.append(.send(header(sequence: nextToSend, flags: [.fin, .ack], now: now), carriesFlow: false))
                arm(now: now, into: &actions)
                return
            }
            if phase == .finSent { phase = .established }
            sendData(now: now, into: &actions)
        case .closed:
            break
        }
    }

    /// ICMP fragmentation needed for one of its segments: lower the MSS and resend what is outstanding at
    /// once (RFC 1191 §6.3, Linux `tcp_v4_mtu_reduced` → `tcp_simple_retransmit`).
    mutating func pathMTUReduced(to mtu: Int, now: Nanoseconds, into actions: inout [TCPAction]) {
        let newMSS = mtu - IPv4Packet.minimumHeaderLength - TCPSegment.minimumHeaderLength - (peerTimestamps ? 12 : 0)
        guard newMSS < mss, mtu >= 68 else { return }
        mss = newMSS
        actions.append(.loweredMSS(mss))
        guard phase != .synSent else { return }
        let outstanding = Int(highestSent &- unacknowledged)
        if outstanding > 0 { actions.append(.retransmitted(segments: (outstanding + mss - 1) / mss)) }
        nextToSend = unacknowledged
        timedSegment = nil
        if phase == .finSent { phase = .established }
        sendData(now: now, into: &actions)
    }

    /// An ICMP destination unreachable (other than fragmentation needed) or time exceeded about the
    /// segment starting at `sequence`. In SYN_SENT it ends `connect()` with the error's errno
    /// (`tcp_v4_err` → `tcp_done_with_error`); once established, Linux only notes it (`sk_err_soft`).
    /// - Returns: whether the connection ended.
    mutating func unreachable(type: UInt8, code: UInt8, sequence: UInt32, into actions: inout [TCPAction]) -> Bool {
        // tcp_v4_err: an ICMP about a sequence outside snd_una..snd_nxt is ignored (OUTOFWINDOWICMPS).
        guard phase == .synSent, sequence == initialSequence else { return false }
        phase = .closed
        stopTimer()
        actions.append(.failed(type == 3 && code == 3 ? .refused : .unreachable(type: type, code: code)))
        return true
    }
}

/// The fields of an arriving TCP segment a connection acts on, its options read in place.
struct TCPSegmentFields {
    var sourcePort: UInt16
    var destinationPort: UInt16
    var sequence: UInt32
    var acknowledgment: UInt32
    var flags: TCPFlags
    var window: UInt16
    var payloadLength: Int
    var maximumSegmentSize: UInt16?
    var windowScale: UInt8?
    var sackPermitted = false
    var timestampValue: UInt32?

    init(_ frame: IPv4Frame) {
        sourcePort = frame.sourcePort
        destinationPort = frame.destinationPort
        sequence = frame.tcpSequence
        acknowledgment = frame.tcpAcknowledgment
        flags = frame.tcpFlags
        payloadLength = frame.tcpPayloadLength
        window = 0
        guard let segment = try? TCPSegment(checking: frame.transport) else { return }
        sourcePort = segment.sourcePort
        destinationPort = segment.destinationPort
        window = segment.window
        readOptions(segment.optionBytes)
    }

    init(sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32, acknowledgment: UInt32, flags: TCPFlags,
         window: UInt16 = 64, payloadLength: Int = 0) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.window = window
        self.payloadLength = payloadLength
    }

    /// An option's layout (RFC 9293 §3.2): kind, length, then its data.
    private static let optionLengthField = 1
    private static let optionDataStart = 2

    /// Walks the options as `tcp_parse_options` does, without building a list: a malformed option ends
    /// the walk.
    private mutating func readOptions(_ options: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < options.count {
            let kind = options.getInteger(at: offset, as: UInt8.self)
            if kind == TCPOption.Kind.endOfOptionList { return }
            if kind == TCPOption.Kind.noOperation { offset += 1; continue }
            guard offset + Self.optionDataStart <= options.count else { return }
            let length = Int(options.getInteger(at: offset + Self.optionLengthField, as: UInt8.self))
            guard length >= 2, offset + length <= options.count else { return }
            switch (kind, length) {
            case (TCPOption.Kind.maximumSegmentSize, 4):
                maximumSegmentSize = options.getInteger(at: offset + Self.optionDataStart, as: UInt16.self)
            case (TCPOption.Kind.windowScale, 3):
                windowScale = min(14, options.getInteger(at: offset + Self.optionDataStart, as: UInt8.self))
            case (TCPOption.Kind.sackPermitted, 2):
                sackPermitted = true
            case (TCPOption.Kind.timestamps, 10):
                timestampValue = options.getInteger(at: offset + Self.optionDataStart, as: UInt32.self)
            default:
                break
            }
            offset += length
        }
    }
}
