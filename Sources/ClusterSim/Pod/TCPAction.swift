import PacketWire

/// What a TCP connection asks of its pod's stack after handling an event. The connection is a value that
/// decides; the stack carries the decisions out (sends, timers) and the accounting records the rest.
enum TCPAction {
    /// Send a segment; `carriesFlow` when it moves the flow forward (SYN, data) and counts as sent.
    case send(TCPSegmentHeader, carriesFlow: Bool)
    /// (Re)arm the retransmission timer; it fires with this generation after `delay`.
    case armTimer(delay: Nanoseconds, generation: Int)
    /// The connection closed cleanly (FIN exchanged).
    case completed
    /// `connect()` or the connection failed with this error.
    case failed(TCPConnectError)
    /// Segments sent again (timeout or path-MTU shrink).
    case retransmitted(segments: Int)
    /// Path-MTU discovery lowered the MSS.
    case loweredMSS(Int)
    /// A retransmission timeout: with `net.core.txrehash` the socket picks a new flow hash
    /// (net/ipv4/tcp_timer.c `tcp_write_timeout` → `sk_rethink_txhash`), so the overlay's outer UDP
    /// source port changes from the next segment on.
    case rehash
}

/// Why a connection ended without its FIN exchange: the errno `connect()` or the next call returns.
enum TCPConnectError: Equatable {
    /// ETIMEDOUT: `tcp_syn_retries` (+ linear timeouts) SYNs unanswered, or `tcp_retries2` exceeded
    /// (net/ipv4/tcp_timer.c `tcp_write_err`).
    case timedOut
    /// ECONNREFUSED: the peer answered with RST (`tcp_reset`), or ICMP port unreachable.
    case refused
    /// The errno of an ICMP destination unreachable or time exceeded that ended the SYN_SENT state
    /// (net/ipv4/tcp_ipv4.c `tcp_v4_err`, `icmp_err_convert`): type and code kept for the sentence.
    case unreachable(type: UInt8, code: UInt8)

    /// The errno as `strerror` gives it, and where it came from.
    var sentence: String {
        switch self {
        case .timedOut: return "Connection timed out (ETIMEDOUT)"
        case .refused: return "Connection refused (ECONNREFUSED)"
        case let .unreachable(type, code):
            return "\(Self.errnoText(type: type, code: code)) (ICMP \(type)/\(code), tcp_v4_err)"
        }
    }

    /// net/ipv4/icmp.c `icmp_err_convert`, and EHOSTUNREACH for time exceeded (`tcp_v4_err`).
    static func errnoText(type: UInt8, code: UInt8) -> String {
        guard type == 3 else { return "No route to host (EHOSTUNREACH)" }
        switch code {
        case 0, 6, 9, 11: return "Network is unreachable (ENETUNREACH)"
        case 2: return "Protocol not available (ENOPROTOOPT)"
        case 3: return "Connection refused (ECONNREFUSED)"
        case 4: return "Message too long (EMSGSIZE)"
        case 5: return "Operation not supported (EOPNOTSUPP)"
        case 7: return "Host is down (EHOSTDOWN)"
        case 8: return "Machine is not on the network (ENONET)"
        default: return "No route to host (EHOSTUNREACH)"
        }
    }
}
