import PacketWire

/// The sending side of a TCP connection, as a value-type state machine: `connect`, then `handle` each
/// arriving segment, `timerFired` and `pathMTUReduced`, each appending the actions to carry out.
///
/// The model: three-way handshake, data in MSS-sized segments under a fixed window of segments with
/// go-back-N retransmission on a timer, the MSS lowered by ICMP fragmentation needed (RFC 1191 §6.3,
/// Linux `tcp_v4_mtu_reduced`), and a FIN exchange. Retries stop after `tcp_syn_retries` (6) or
/// `tcp_retries2` (15) timeouts.
struct TCPClientConnection {
    enum Phase { case synSent, established, finSent, closed }

    private(set) var phase = Phase.synSent
    let localPort: UInt16
    /// Where the connection was opened to (a pod, or a Service's ClusterIP and port).
    let remoteAddress: IPv4Address
    let remotePort: UInt16
    let initialSequence: UInt32
    private var unacknowledged: UInt32
    private var nextToSend: UInt32
    let total: Int
    private(set) var mss: Int
    /// The MSS the SYN advertises (the interface MTU less 40 bytes of IPv4 and TCP).
    let advertisedMSS: UInt16
    private(set) var timerGeneration = 0
    /// The next byte expected from the server.
    private var receiveNext: UInt32 = 0
    /// Consecutive retransmission timeouts without progress.
    private var timeouts = 0

    static let synRetries = 6
    static let dataRetries = 15
    static let window = 10
    static let synTimeout: Nanoseconds = 1_000_000_000
    static let dataTimeout: Nanoseconds = 200_000_000
    static let clientWindow: UInt16 = 64240

    init(localPort: UInt16, remoteAddress: IPv4Address, remotePort: UInt16, initialSequence: UInt32, total: Int, mtu: Int) {
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.initialSequence = initialSequence
        unacknowledged = initialSequence
        nextToSend = initialSequence &+ 1
        self.total = total
        mss = mtu - 40
        advertisedMSS = UInt16(truncatingIfNeeded: mtu - 40)
    }

    var acknowledgedBytes: Int { Int(unacknowledged &- initialSequence &- 1) }
    var sentBytes: Int { Int(nextToSend &- initialSequence &- 1) }

    /// Opens the connection: the SYN, and its timer.
    mutating func connect(into actions: inout [TCPAction]) {
        sendSYN(into: &actions)
    }

    private mutating func sendSYN(into actions: inout [TCPAction]) {
        timerGeneration += 1
        actions.append(.send(TCPHeader(sourcePort: localPort, destinationPort: remotePort, sequenceNumber: initialSequence,
                                       flags: .syn, window: Self.clientWindow, options: [.maximumSegmentSize(advertisedMSS)]),
                             carriesFlow: true))
        actions.append(.armTimer(delay: Self.synTimeout, generation: timerGeneration))
    }

    /// Sends as many segments as the window allows from `nextToSend`, then FIN once everything is acknowledged.
    private mutating func sendData(into actions: inout [TCPAction]) {
        guard phase == .established else { return }
        let windowBytes = Self.window * mss
        var sentAny = false
        while sentBytes < total && sentBytes - acknowledgedBytes < windowBytes {
            let size = min(mss, total - sentBytes)
            actions.append(.send(TCPHeader(sourcePort: localPort, destinationPort: remotePort, sequenceNumber: nextToSend,
                                           acknowledgmentNumber: receiveNext, flags: [.ack, .psh], window: Self.clientWindow,
                                           payloadLength: size), carriesFlow: true))
            nextToSend &+= UInt32(size)
            sentAny = true
        }
        if sentBytes >= total && acknowledgedBytes >= total && phase == .established {
            phase = .finSent
            actions.append(.send(TCPHeader(sourcePort: localPort, destinationPort: remotePort, sequenceNumber: nextToSend,
                                           acknowledgmentNumber: receiveNext, flags: [.fin, .ack], window: Self.clientWindow),
                                 carriesFlow: false))
            sentAny = true
        }
        if sentAny {
            timerGeneration += 1
            actions.append(.armTimer(delay: Self.dataTimeout, generation: timerGeneration))
        }
    }

    /// A segment from the server.
    mutating func handle(_ segment: TCPSegmentFields, into actions: inout [TCPAction]) {
        if segment.flags.contains(.syn) && segment.flags.contains(.ack) && phase == .synSent {
            phase = .established
            unacknowledged = initialSequence &+ 1
            nextToSend = unacknowledged
            receiveNext = segment.sequence &+ 1
            actions.append(.send(TCPHeader(sourcePort: localPort, destinationPort: remotePort, sequenceNumber: nextToSend,
                                           acknowledgmentNumber: receiveNext, flags: .ack, window: Self.clientWindow),
                                 carriesFlow: false))
            sendData(into: &actions)
            return
        }
        guard phase == .established || phase == .finSent else { return }
        let advanced = Int32(bitPattern: segment.acknowledgment &- unacknowledged) > 0
        if advanced {
            unacknowledged = segment.acknowledgment
            timeouts = 0
        }
        if segment.flags.contains(.fin) && phase == .finSent {
            phase = .closed
            timerGeneration += 1
            receiveNext = segment.sequence &+ 1
            actions.append(.completed)
            actions.append(.send(TCPHeader(sourcePort: localPort, destinationPort: remotePort, sequenceNumber: nextToSend &+ 1,
                                           acknowledgmentNumber: receiveNext, flags: .ack, window: Self.clientWindow),
                                 carriesFlow: false))
            return
        }
        if advanced { sendData(into: &actions) }
    }

    /// The retransmission timer fired (ignored when the connection re-armed it since).
    mutating func timerFired(generation: Int, into actions: inout [TCPAction]) {
        guard generation == timerGeneration, phase != .closed else { return }
        timeouts += 1
        guard timeouts <= (phase == .synSent ? Self.synRetries : Self.dataRetries) else {
            phase = .closed
            actions.append(.failed)
            return
        }
        switch phase {
        case .synSent:
            actions.append(.retransmitted(segments: 1))
            sendSYN(into: &actions)
        case .established, .finSent:
            // Go back N: everything after the last acknowledgment goes again.
            let outstanding = sentBytes - acknowledgedBytes
            actions.append(.retransmitted(segments: max(1, (outstanding + mss - 1) / mss)))
            nextToSend = unacknowledged
            if phase == .finSent { phase = .established }
            sendData(into: &actions)
        case .closed:
            break
        }
    }

    /// ICMP fragmentation needed for one of its segments: lower the MSS and resend what is outstanding at
    /// once (RFC 1191 §6.3, Linux `tcp_v4_mtu_reduced`).
    mutating func pathMTUReduced(to mtu: Int, into actions: inout [TCPAction]) {
        guard mtu - 40 < mss, mtu >= 68 else { return }
        mss = mtu - 40
        actions.append(.loweredMSS(mss))
        let outstanding = sentBytes - acknowledgedBytes
        if outstanding > 0 { actions.append(.retransmitted(segments: (outstanding + mss - 1) / mss)) }
        nextToSend = unacknowledged &+ (phase == .synSent ? 1 : 0)
        if phase == .finSent { phase = .established }
        sendData(into: &actions)
    }
}

/// The fields of an arriving TCP segment a connection acts on.
struct TCPSegmentFields {
    var sourcePort: UInt16
    var destinationPort: UInt16
    var sequence: UInt32
    var acknowledgment: UInt32
    var flags: TCPFlags
    var payloadLength: Int

    init(_ frame: IPv4Frame) {
        sourcePort = frame.sourcePort
        destinationPort = frame.destinationPort
        sequence = frame.tcpSequence
        acknowledgment = frame.tcpAcknowledgment
        flags = frame.tcpFlags
        payloadLength = frame.tcpPayloadLength
    }
}
