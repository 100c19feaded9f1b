import PacketWire

/// The receiving side of a TCP connection, accepted by a listening socket: answers the SYN with a
/// SYN-ACK (again for a retransmitted SYN), acknowledges in-order data cumulatively (and repeats its
/// acknowledgment for anything else, as a duplicate ACK), and answers FIN with FIN.
struct TCPServerConnection {
    let localPort: UInt16
    let remoteAddress: IPv4Address
    let remotePort: UInt16
    let initialSequence: UInt32
    let advertisedMSS: UInt16
    private var receiveNext: UInt32 = 0
    private var finished = false

    static let serverWindow: UInt16 = 65160

    init(localPort: UInt16, remoteAddress: IPv4Address, remotePort: UInt16, initialSequence: UInt32, mtu: Int) {
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.initialSequence = initialSequence
        advertisedMSS = UInt16(truncatingIfNeeded: mtu - 40)
    }

    /// A segment from the client; the reply, when one is due.
    mutating func handle(_ segment: TCPSegmentFields) -> TCPHeader? {
        if segment.flags.contains(.syn) {
            receiveNext = segment.sequence &+ 1
            return TCPHeader(sourcePort: localPort, destinationPort: remotePort, sequenceNumber: initialSequence,
                             acknowledgmentNumber: receiveNext, flags: [.syn, .ack], window: Self.serverWindow,
                             options: [.maximumSegmentSize(advertisedMSS)])
        }
        let fin = segment.flags.contains(.fin)
        if segment.sequence == receiveNext {
            receiveNext &+= UInt32(segment.payloadLength) &+ (fin ? 1 : 0)
        }
        let finishing = fin && segment.sequence &+ UInt32(segment.payloadLength) &+ 1 == receiveNext
        guard segment.payloadLength > 0 || finishing else { return nil }
        let reply = TCPHeader(sourcePort: localPort, destinationPort: remotePort,
                              sequenceNumber: initialSequence &+ 1 &+ (finished ? 1 : 0), acknowledgmentNumber: receiveNext,
                              flags: finishing ? [.fin, .ack] : [.ack], window: Self.serverWindow)
        if finishing { finished = true }
        return reply
    }
}
