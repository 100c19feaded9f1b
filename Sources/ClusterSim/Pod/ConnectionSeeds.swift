import PacketWire

/// Where the IP identification of a pod's packets and a TCP server's initial sequence number come from.
///
/// The model before the rebuild drew them per traffic flow: one identification counter per sender, which
/// the replies to that sender (echo replies, the server's segments) continue, and the server's initial
/// sequence number drawn right after the client's. The rebuild keeps those values so that no capture
/// changes while the code moves: a sender registers its counter and the server's sequence number under
/// the flow's client address, client port and protocol, and the replying pod finds them there by the
/// packet it answers. (Linux draws both per socket: `inet->inet_id` at connect and accept, the ISN from
/// `secure_tcp_seq` over the 4-tuple; the Linux-fidelity work replaces this table with that.)
final class ConnectionSeeds {
    struct Key: Hashable {
        var clientAddress: IPv4Address
        var clientPort: UInt16
        var `protocol`: IPProtocol
    }

    struct Entry {
        let identification: IdentificationCounter
        var serverInitialSequence: UInt32?
    }

    private var entries: [Key: Entry] = [:]

    func register(_ key: Key, identification: IdentificationCounter) {
        entries[key] = Entry(identification: identification)
    }

    func setServerInitialSequence(_ sequence: UInt32, for key: Key) {
        entries[key]?.serverInitialSequence = sequence
    }

    func identification(for key: Key) -> IdentificationCounter? { entries[key]?.identification }
    func serverInitialSequence(for key: Key) -> UInt32? { entries[key]?.serverInitialSequence }
}

/// An IPv4 identification counter: each packet takes the next value (RFC 6864: unique per source,
/// destination and protocol while fragments may be in flight).
final class IdentificationCounter {
    private var last: UInt16

    init(start: UInt16) { last = start }

    func next() -> UInt16 {
        last &+= 1
        return last
    }
}
