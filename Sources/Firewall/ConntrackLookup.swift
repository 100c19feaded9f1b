/// One tracked connection.
public struct ConnectionEntry: Hashable, Sendable {
    /// The tuple of the packet that opened it.
    public var key: FlowKey
    /// Whether anything came back (the reply direction's tuple is `key.reversed`).
    public var seenReply = false
    /// `IPS_ASSURED`: the entry is kept when the table is full (`early_drop` passes it over). TCP, ICMP and
    /// other protocols: a reply was seen. UDP: a packet came after a reply once the entry was older than
    /// 2 s, and it lives `nf_conntrack_udp_timeout_stream` from then on
    /// (``ConntrackTimeouts/udpBecomesStream(seenReplyBefore:createdAt:now:)``).
    public var assured = false
    /// TCP: a FIN was seen.
    public var closing = false
    public var createdAt: UInt64
    public var lastSeen: UInt64
    /// The idle timeout in force, chosen by protocol and state.
    public var timeout: UInt64
    /// Order of creation, for evicting the oldest first.
    var sequence: UInt64

    public var expiresAt: UInt64 { lastSeen &+ timeout }
}

/// A connection that timed out before this packet came, for the explanation.
public struct ExpiredConnection: Hashable, Sendable {
    public var key: FlowKey
    public var lastSeen: UInt64
    public var timeout: UInt64
    /// The sysctl-style name of the timeout that applied (`udp`, `udp stream`, ...).
    public var timeoutName: String
    public var seenReply: Bool
    /// Whether it had become assured (for UDP, a stream).
    public var assured: Bool
}

/// What conntrack made of a packet.
public struct ConntrackLookup: Sendable {
    public var state: ConnectionState
    /// The packet's tuple; nil when it is not tracked.
    public var key: FlowKey?
    /// The packet belongs to the reply direction of its entry.
    public var isReply = false
    /// An entry exists (and has not expired).
    public var exists = false
    /// The flow had an entry that timed out.
    public var expired: ExpiredConnection?
    /// Why the state is `invalid`.
    public var invalidReason: String?
    /// A new flow found the table full with nothing to evict: the packet must be dropped.
    public var tableFull = false
    /// A new flow found the table full and this entry, the oldest not assured (no reply yet, or UDP not yet a stream: early_drop), was evicted
    /// to make room.
    public var evicted: FlowKey?
}
