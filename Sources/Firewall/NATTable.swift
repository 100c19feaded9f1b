import PacketWire

/// Where NAT sends one end of a flow: an address and a port (for ICMP echo, the port is unused).
public struct NATTarget: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `10.244.1.7:8080`.
    public var description: String { FlowKey.endpoint(address, port) }
}

/// NAT's connection tracking, as netfilter keeps it for `nf_nat` (net/netfilter/nf_conntrack_core.c,
/// nf_nat_core.c): each entry holds the tuple the flow's first packet carried (`original`) and the tuple
/// its replies carry after translation (`reply`). DNAT changes the reply tuple's source (replies come
/// from the endpoint), SNAT its destination (replies come back to the NAT's address), both for a hairpin.
/// A packet whose tuple is an entry's original goes out rewritten toward the reply tuple's view; a packet
/// whose tuple is an entry's reply tuple is restored to what the first packet saw.
///
/// One table serves every NAT in the project: kube-proxy's Service DNAT and masquerade
/// (``translateDestination(_:now:keep:choose:)``, ``translateSource(_:now:to:ports:)``), and the ``SourceNAT``
/// middlebox. Expiry is an option: ``Expiry/never`` keeps entries for the whole run, ``Expiry/conntrack(_:)``
/// applies Linux's per-protocol timeouts. Expired entries are removed lazily: when the flow's next packet
/// in the original direction meets one, or when the table needs room; a reply that meets one is not
/// translated.
public struct NATTable: Sendable {
    /// One translated flow.
    public struct Entry: Hashable, Sendable {
        /// The tuple of the flow's first packet, as it arrived.
        public let original: FlowKey
        /// The tuple replies carry: its source is where the flow was sent, its destination where it
        /// appears to come from.
        public internal(set) var reply: FlowKey
        public let createdAt: UInt64
        public internal(set) var lastSeen: UInt64
        /// Whether a reply was seen (TCP established).
        public internal(set) var seenReply = false
        /// `IPS_ASSURED`; for UDP, the `stream` timeout: see ``ConnectionEntry/assured``.
        public internal(set) var assured = false
        /// TCP: a FIN or RST was seen.
        public internal(set) var closing = false
        /// When the entry expires without traffic; `UInt64.max` when entries never expire.
        public internal(set) var expiresAt: UInt64

        /// Where packets of the original direction are sent: the reply tuple's source.
        public var destination: NATTarget { NATTarget(address: reply.source, port: reply.sourcePort) }
        /// The source packets of the original direction leave with: the reply tuple's destination.
        public var source: NATTarget { NATTarget(address: reply.destination, port: reply.destinationPort) }
        /// Whether the destination is rewritten (DNAT).
        public var translatesDestination: Bool {
            reply.source != original.destination || reply.sourcePort != original.destinationPort
        }
        /// Whether the source is rewritten (SNAT, masquerade).
        public var translatesSource: Bool {
            reply.destination != original.source || reply.destinationPort != original.sourcePort
        }
    }

    /// How long entries live.
    public enum Expiry: Hashable, Sendable {
        /// For the whole run.
        case never
        /// Linux's conntrack timeouts by protocol and state (`net.netfilter.nf_conntrack_*_timeout*`).
        case conntrack(ConntrackTimeouts)
    }

    /// Which way a packet travels relative to its entry.
    public enum Direction: Hashable, Sendable {
        case original, reply
    }

    /// Most entries kept (`nf_conntrack_max`).
    public let capacity: Int
    public let expiry: Expiry
    /// Entries by original tuple.
    private var entries: [FlowKey: Entry] = [:]
    /// Reply tuple → original tuple.
    private var replies: [FlowKey: FlowKey] = [:]

    /// - Parameters:
    ///   - capacity: most entries; a new flow beyond it is refused (``NATResult/tableFull``).
    ///   - expiry: how long entries live.
    public init(capacity: Int = .max, expiry: Expiry = .never) {
        self.capacity = max(1, capacity)
        self.expiry = expiry
    }

    /// Entries in the table, expired ones not yet removed included.
    public var count: Int { entries.count }

    /// The entry whose original tuple is `key`, expired or not.
    public func entry(original key: FlowKey) -> Entry? { entries[key] }

    /// The entry whose reply tuple is `key`, expired or not.
    public func entry(reply key: FlowKey) -> Entry? { replies[key].flatMap { entries[$0] } }

    /// Whether some entry's replies carry `key` (a port allocator must not hand out a tuple twice).
    public func isReplyTupleInUse(_ key: FlowKey) -> Bool { replies[key] != nil }

    /// Every entry, in no particular order.
    public var allEntries: Dictionary<FlowKey, Entry>.Values { entries.values }

    /// The live entry `key` belongs to and which way it travels: replies first (a tuple that is an
    /// entry's reply is that flow's reply), then originals. An expired original is removed; an expired
    /// reply does not match.
    public mutating func lookup(_ key: FlowKey, now: UInt64) -> (entry: Entry, direction: Direction)? {
        if let entry = entry(reply: key), entry.expiresAt > now { return (entry, .reply) }
        guard let entry = entries[key] else { return nil }
        guard entry.expiresAt > now else {
            remove(original: key)
            return nil
        }
        return (entry, .original)
    }

    /// Makes sure a new entry fits: when the table is full, removes the expired entries.
    /// - Returns: false when it is still full.
    public mutating func makeRoom(now: UInt64) -> Bool {
        if entries.count >= capacity { sweep(now: now) }
        return entries.count < capacity
    }

    /// Adds an entry (replacing one with the same original tuple).
    /// - Parameters:
    ///   - original: the first packet's tuple.
    ///   - reply: the tuple its replies will carry.
    ///   - now: virtual time.
    /// - Returns: the entry, or nil when the table is full (call ``makeRoom(now:)`` first to sweep).
    @discardableResult
    public mutating func insert(original: FlowKey, reply: FlowKey, now: UInt64) -> Entry? {
        if entries[original] == nil, entries.count >= capacity { return nil }
        remove(original: original)
        let entry = Entry(original: original, reply: reply, createdAt: now, lastSeen: now,
                          expiresAt: expiresAt(lastSeen: now, proto: original.protocol, seenReply: false, assured: false, closing: false))
        entries[original] = entry
        replies[reply] = original
        return entry
    }

    /// Gives an entry a new reply tuple: SNAT added to a DNATed flow (a hairpin), as `nf_nat_setup_info`
    /// does for the second manipulation.
    /// - Returns: the entry, or nil when there is none for `original`.
    @discardableResult
    public mutating func setReply(_ reply: FlowKey, original: FlowKey) -> Entry? {
        guard var entry = entries[original] else { return nil }
        replies[entry.reply] = nil
        entry.reply = reply
        entries[original] = entry
        replies[reply] = original
        return entry
    }

    /// Records a packet of the entry's flow: refreshes its timeout, notes a reply or TCP's FIN or RST.
    /// - Returns: the entry as it is now.
    @discardableResult
    public mutating func refresh(original: FlowKey, direction: Direction, tcpFlags: TCPFlags = TCPFlags(), now: UInt64) -> Entry? {
        // Changed in place at its index: one hash of the tuple, where a read and a write took two.
        guard let index = entries.index(forKey: original) else { return nil }
        var entry = entries.values[index]
        // As ConnectionTracker.commit: a UDP reply makes the entry a stream only from the next packet on,
        // and only after its first 2 s (nf_conntrack_udp_packet).
        if original.protocol == .udp {
            if ConntrackTimeouts.udpBecomesStream(seenReplyBefore: entry.seenReply, createdAt: entry.createdAt, now: now) { entry.assured = true }
        } else if direction == .reply {
            entry.assured = true
        }
        if direction == .reply { entry.seenReply = true }
        if original.protocol == .tcp, tcpFlags.contains(.fin) || tcpFlags.contains(.rst) { entry.closing = true }
        entry.lastSeen = now
        entry.expiresAt = expiresAt(lastSeen: now, proto: original.protocol, seenReply: entry.seenReply, assured: entry.assured, closing: entry.closing)
        entries.values[index] = entry
        return entry
    }

    /// Removes the entry with this original tuple, both ways.
    @discardableResult
    public mutating func remove(original: FlowKey) -> Entry? {
        guard let entry = entries.removeValue(forKey: original) else { return nil }
        if replies[entry.reply] == original { replies[entry.reply] = nil }
        return entry
    }

    /// Removes every entry `condition` selects, as `conntrack -D` with filters does (kube-proxy deletes a
    /// removed endpoint's UDP entries: pkg/proxy/conntrack).
    public mutating func removeAll(where condition: (Entry) -> Bool) {
        for entry in entries.values where condition(entry) { remove(original: entry.original) }
    }

    /// Removes the entries expired by `now`.
    public mutating func sweep(now: UInt64) {
        entries = entries.filter { $0.value.expiresAt > now }
        replies = replies.filter { entries[$0.value] != nil }
    }

    private func expiresAt(lastSeen: UInt64, proto: IPProtocol, seenReply: Bool, assured: Bool, closing: Bool) -> UInt64 {
        guard case .conntrack(let timeouts) = expiry else { return .max }
        let (sum, overflow) = lastSeen.addingReportingOverflow(timeouts.timeout(for: proto, seenReply: seenReply, assured: assured, closing: closing))
        return overflow ? .max : sum
    }
}
