import PacketWire

/// The receiving side of a TCP connection, accepted by a listening socket: answers the SYN with a
/// SYN-ACK (again for a retransmitted SYN), acknowledges in-order data cumulatively (and repeats its
/// acknowledgment for anything else, as a duplicate ACK), and answers FIN with FIN.
///
/// The SYN-ACK offers what the SYN offered and the settings allow (net/ipv4/tcp_output.c
/// `tcp_synack_options`: MSS; SACK-permitted and timestamps, echoing the SYN's TSval; window scale), with
/// the window rounded to the MSS less the timestamps (64308 at MTU 1450, measured). Later segments carry
/// the timestamps when both ends agreed on them. Not modelled: the SYN-ACK's own retransmission timer,
/// delayed ACKs.
struct TCPServerConnection {
    let localPort: UInt16
    let remoteAddress: IPv4Address
    let remotePort: UInt16
    let initialSequence: UInt32
    let settings: TCPSocketSettings
    /// `ts_off` for this connection's TSval.
    let timestampOffset: UInt32
    private var receiveNext: UInt32 = 0
    private var finished = false
    private var timestamps = false
    private var recentTimestamp: UInt32 = 0
    /// The SYN-ACK has gone: later segments come from the accepted socket (and its IP ID counter).
    private(set) var established = false

    init(localPort: UInt16, remoteAddress: IPv4Address, remotePort: UInt16, initialSequence: UInt32,
         timestampOffset: UInt32, settings: TCPSocketSettings) {
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.initialSequence = initialSequence
        self.timestampOffset = timestampOffset
        self.settings = settings
    }

    private func timestampValue(_ now: Nanoseconds) -> UInt32 {
        UInt32(truncatingIfNeeded: now / 1_000_000) &+ timestampOffset
    }

    /// A segment from the client; the reply, when one is due.
    mutating func handle(_ segment: TCPSegmentFields, now: Nanoseconds) -> TCPSegmentHeader? {
        if segment.flags.contains(.rst) { return nil }
        if let value = segment.timestampValue { recentTimestamp = value }
        if segment.flags.contains(.syn) {
            receiveNext = segment.sequence &+ 1
            timestamps = settings.timestamps && segment.timestampValue != nil
            let segmentSize = settings.advertisedMSS - (timestamps ? 12 : 0)
            return TCPSegmentHeader(
                sourcePort: localPort, destinationPort: remotePort, sequenceNumber: initialSequence,
                acknowledgmentNumber: receiveNext, flags: [.syn, .ack], window: settings.synWindow(segmentSize: segmentSize),
                maximumSegmentSize: UInt16(truncatingIfNeeded: settings.advertisedMSS),
                sackPermitted: settings.sack && segment.sackPermitted,
                timestamps: timestamps ? (timestampValue(now), recentTimestamp) : nil,
                windowScale: segment.windowScale != nil ? settings.windowScale : nil)
        }
        established = true
        let fin = segment.flags.contains(.fin)
        if segment.sequence == receiveNext {
            receiveNext &+= UInt32(segment.payloadLength) &+ (fin ? 1 : 0)
        }
        let finishing = fin && segment.sequence &+ UInt32(segment.payloadLength) &+ 1 == receiveNext
        guard segment.payloadLength > 0 || finishing else { return nil }
        let reply = TCPSegmentHeader(
            sourcePort: localPort, destinationPort: remotePort,
            sequenceNumber: initialSequence &+ 1 &+ (finished ? 1 : 0), acknowledgmentNumber: receiveNext,
            flags: finishing ? [.fin, .ack] : [.ack], window: settings.window(segmentSize: settings.advertisedMSS),
            timestamps: timestamps ? (timestampValue(now), recentTimestamp) : nil)
        if finishing { finished = true }
        return reply
    }
}
