import PacketWire

/// A connection-tracking table with bounded memory, as netfilter keeps one: entries keyed by 5-tuple,
/// per-protocol idle timeouts, lazy expiry, and when the table is full the oldest entry that is not
/// assured is evicted (`early_drop`); if every entry is assured, new flows are refused ("nf_conntrack:
/// table full, dropping packet").
public struct ConnectionTracker: Sendable {
    public let capacity: Int
    public var timeouts: ConntrackTimeouts
    private var entries: [FlowKey: ConnectionEntry] = [:]
    /// Original tuples in creation order with their sequence numbers: the eviction queue.
    private var order: [(key: FlowKey, sequence: UInt64)] = []
    private var orderHead = 0
    private var nextSequence: UInt64 = 0
    private var nextSweep: UInt64 = 0
    /// Entries evicted to make room, and new flows refused because nothing could be.
    public private(set) var evictions = 0
    public private(set) var refusals = 0

    public init(capacity: Int = 65536, timeouts: ConntrackTimeouts = ConntrackTimeouts()) {
        self.capacity = max(1, capacity)
        self.timeouts = timeouts
    }

    /// Live and not yet swept entries.
    public var count: Int { entries.count }

    /// The entry for a tuple in either direction, if it has not expired by `now`.
    public func entry(for key: FlowKey, now: UInt64) -> ConnectionEntry? {
        if let entry = entries[key], entry.expiresAt > now { return entry }
        if let entry = entries[key.reversed], entry.expiresAt > now { return entry }
        return nil
    }

    /// Classifies a packet: new, established, related or invalid. Expired entries met on the way are
    /// removed; a new flow finding the table full makes room (or sets `tableFull`).
    public mutating func classify(_ packet: PacketFields, now: UInt64) -> ConntrackLookup {
        if packet.isICMPError {
            guard let quoted = packet.quoted else {
                return ConntrackLookup(state: .invalid, key: nil, invalidReason: "the ICMP error quotes no packet it can read")
            }
            let key = FlowKey(protocol: quoted.protocol, source: quoted.source, sourcePort: quoted.sourcePort,
                              destination: quoted.destination, destinationPort: quoted.destinationPort)
            if entry(for: key, now: now) != nil { return ConntrackLookup(state: .related, key: nil) }
            return ConntrackLookup(state: .invalid, key: nil,
                                   invalidReason: "it is an ICMP error about \(key), a flow this device has no entry for")
        }
        guard let key = FlowKey(packet) else { return ConntrackLookup(state: .untracked, key: nil) }
        var lookup = ConntrackLookup(state: .new, key: key)
        for (candidate, isReply) in [(key, false), (key.reversed, true)] {
            guard let found = entries[candidate] else { continue }
            if found.expiresAt <= now {
                lookup.expired = ExpiredConnection(key: found.key, lastSeen: found.lastSeen, timeout: found.timeout,
                                                   timeoutName: timeoutName(found), seenReply: found.seenReply,
                                                   assured: found.assured)
                entries[candidate] = nil
                continue
            }
            lookup.exists = true
            lookup.isReply = isReply
            lookup.state = isReply || found.seenReply ? .established : .new
            return lookup
        }
        if packet.protocol == .tcp, !packet.tcpFlags.contains(.syn) || packet.tcpFlags.contains(.ack) {
            lookup.state = .invalid
            lookup.invalidReason = "a TCP segment without SYN (flags \(packet.tcpFlags)) belongs to no connection this device tracks"
            return lookup
        }
        if entries.count >= capacity {
            let room = makeRoom(now: now)
            lookup.evicted = room.evicted
            if !room.made {
                lookup.tableFull = true
                refusals += 1
            }
        }
        return lookup
    }

    /// Records an accepted packet: creates the entry of a new flow, or refreshes the entry and its timeout.
    public mutating func commit(_ lookup: ConntrackLookup, packet: PacketFields, now: UInt64) {
        guard let key = lookup.key, !lookup.tableFull else { return }
        let original = lookup.isReply ? key.reversed : key
        var entry: ConnectionEntry
        if lookup.exists, let existing = entries[original] {
            entry = existing
        } else {
            guard lookup.state == .new else { return }
            if entries.count >= capacity, !makeRoom(now: now).made { refusals += 1; return }
            entry = ConnectionEntry(key: original, createdAt: now, lastSeen: now, timeout: 0, sequence: nextSequence)
            order.append((original, nextSequence))
            nextSequence += 1
            compactOrderIfNeeded()
        }
        // UDP: the reply flag this packet brings counts only from the next packet on (see
        // ConntrackTimeouts.udpBecomesStream); other protocols are assured by their first reply.
        if original.protocol == .udp {
            if ConntrackTimeouts.udpBecomesStream(seenReplyBefore: entry.seenReply, createdAt: entry.createdAt, now: now) { entry.assured = true }
        } else if lookup.isReply {
            entry.assured = true
        }
        if lookup.isReply { entry.seenReply = true }
        if packet.protocol == .tcp {
            if packet.tcpFlags.contains(.rst) { entries[original] = nil; return }
            if packet.tcpFlags.contains(.fin) { entry.closing = true }
        }
        entry.lastSeen = now
        entry.timeout = timeout(for: entry)
        entries[original] = entry
    }

    func timeout(for entry: ConnectionEntry) -> UInt64 {
        timeouts.timeout(for: entry.key.protocol, seenReply: entry.seenReply, assured: entry.assured, closing: entry.closing)
    }

    func timeoutName(_ entry: ConnectionEntry) -> String {
        ConntrackTimeouts.name(for: entry.key.protocol, seenReply: entry.seenReply, assured: entry.assured, closing: entry.closing)
    }

    /// Frees one slot: sweeps expired entries (at most once a virtual second), then evicts the oldest
    /// entry that is not assured (`early_drop`, net/netfilter/nf_conntrack_core.c, skips `IPS_ASSURED`),
    /// which it returns: one that never saw a reply, or a UDP entry that is not a stream yet. Not made
    /// when every entry is live and assured.
    private mutating func makeRoom(now: UInt64) -> (made: Bool, evicted: FlowKey?) {
        if now >= nextSweep {
            nextSweep = now &+ ConntrackTimeouts.second
            entries = entries.filter { $0.value.expiresAt > now }
            if entries.count < capacity { return (true, nil) }
        }
        while orderHead < order.count {
            let (key, sequence) = order[orderHead]
            orderHead += 1
            if let entry = entries[key], entry.sequence == sequence, !entry.assured {
                entries[key] = nil
                evictions += 1
                compactOrderIfNeeded()
                return (true, key)
            }
        }
        compactOrderIfNeeded()
        return (false, nil)
    }

    /// Keeps the eviction queue within a small multiple of the table: drops consumed and stale items.
    private mutating func compactOrderIfNeeded() {
        if orderHead > 1024 && orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderHead = 0
        }
        if order.count - orderHead > 2 * capacity + 64 {
            let live = order[orderHead...].filter { item in entries[item.key]?.sequence == item.sequence }
            order = Array(live)
            orderHead = 0
        }
    }
}
