import PacketWire

/// What a TCP connection asks of its pod's stack after handling an event. The connection is a value that
/// decides; the stack carries the decisions out (sends, timers) and the accounting records the rest.
enum TCPAction {
    /// Send a segment; `carriesFlow` when it moves the flow forward (SYN, data) and counts as sent.
    case send(TCPHeader, carriesFlow: Bool)
    /// (Re)arm the retransmission timer; it fires with this generation after `delay`.
    case armTimer(delay: Nanoseconds, generation: Int)
    /// The connection closed cleanly (FIN exchanged).
    case completed
    /// The connection gave up after too many retransmission timeouts.
    case failed
    /// Segments sent again (timeout or path-MTU shrink).
    case retransmitted(segments: Int)
    /// Path-MTU discovery lowered the MSS.
    case loweredMSS(Int)
}
