import PacketWire

/// What a stateful device decided about a datagram's first fragment, so that the fragments after it,
/// which carry no ports, get the same verdict (virtual reassembly, as stateful firewalls do it).
/// Bounded: the oldest records go first, and a record lives 30 s (Linux `ipfrag_time`).
struct FragmentCache: Sendable {
    struct Key: Hashable, Sendable {
        var source: IPAddress
        var destination: IPAddress
        var `protocol`: IPProtocol
        var identification: UInt32
    }

    struct Record: Sendable {
        var accepted: Bool
        var state: ConnectionState
        var sourcePort: UInt16
        var destinationPort: UInt16
        var expiresAt: UInt64
        /// The first fragment's reason, quoted when a later fragment follows it.
        var ruleDescription: String?
    }

    static let lifetime: UInt64 = 30 * ConntrackTimeouts.second
    let capacity: Int
    private var records: [Key: Record] = [:]
    private var order: [Key] = []
    private var head = 0

    init(capacity: Int = 1024) { self.capacity = capacity }

    static func key(_ packet: PacketFields) -> Key {
        Key(source: packet.source, destination: packet.destination, protocol: packet.protocol,
            identification: packet.identification)
    }

    func record(for packet: PacketFields, now: UInt64) -> Record? {
        guard let record = records[Self.key(packet)], record.expiresAt > now else { return nil }
        return record
    }

    mutating func remember(_ packet: PacketFields, accepted: Bool, state: ConnectionState, now: UInt64,
                           ruleDescription: String?) {
        let key = Self.key(packet)
        if records[key] == nil {
            if records.count >= capacity, head < order.count {
                records[order[head]] = nil
                head += 1
            }
            order.append(key)
            if head > 256 && head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
        }
        records[key] = Record(accepted: accepted, state: state, sourcePort: packet.sourcePort,
                              destinationPort: packet.destinationPort, expiresAt: now &+ Self.lifetime,
                              ruleDescription: ruleDescription)
    }
}
