import PacketWire

/// Whose IP layer a reassembly timer belongs to.
enum ReassemblyHost {
    case node(NodeID)
    case pod(PodID)
}

/// A host's IPv4 reassembly (net/ipv4/ip_fragment.c), PacketWire's ``IPv4Reassembler`` with what the
/// simulation keeps beside it: for each datagram held, the frame and tag of the fragment that started it,
/// so that the timeout (`ip_expire`) can charge the lost datagram to its flow, once.
///
/// Linux arms a timer `ipfrag_time` after a queue's first fragment (`inet_frag_find` → `inet_frag_create`
/// → `mod_timer(&q->timer, jiffies + fqdir->timeout)`); the host schedules the same event when
/// ``add(_:frame:tag:now:)`` says a queue was started, and calls ``expire(now:)`` from it.
struct HostReassembly {
    private(set) var reassembler: IPv4Reassembler
    private var started: [IPv4Reassembler.Key: (tag: PacketTag, frame: [UInt8])] = [:]

    /// A datagram given up on, with the frame and tag of the fragment that started it.
    struct TimedOut {
        var expired: IPv4Reassembler.Expired
        var tag: PacketTag
        var frame: [UInt8]
    }

    /// - Parameter timeout: `net.ipv4.ipfrag_time`.
    init(timeout: Nanoseconds) {
        reassembler = IPv4Reassembler(configuration: IPv4Reassembler.Configuration(timeoutNanoseconds: timeout))
    }

    var timeout: Nanoseconds { reassembler.configuration.timeoutNanoseconds }

    /// Adds a fragment (after ``expire(now:)``, so a datagram past its time is reported, not dropped
    /// silently by the reassembler).
    /// - Returns: the reassembler's outcome, and whether this fragment started a new datagram (its timer).
    mutating func add(_ packet: IPv4Packet, frame: UnsafeRawBufferPointer, tag: PacketTag, now: Nanoseconds)
        -> (outcome: IPv4Reassembler.Outcome, started: Bool) {
        let outcome = reassembler.add(packet, time: now)
        switch outcome {
        case .held(let key, _, let fragments):
            if fragments == 1 {
                started[key] = (tag, Array(frame))
                return (outcome, true)
            }
        case .complete(let datagram): started[datagram.key] = nil
        case .discarded(let key, _): started[key] = nil
        case .notFragment, .duplicate, .tableFull: break
        }
        return (outcome, false)
    }

    /// The datagrams whose `ipfrag_time` has passed at `now`, removed.
    mutating func expire(now: Nanoseconds) -> [TimedOut] {
        reassembler.expireDatagrams(now: now).compactMap { expired in
            guard let start = started.removeValue(forKey: expired.key) else { return nil }
            return TimedOut(expired: expired, tag: start.tag, frame: start.frame)
        }
    }
}

extension HostReassembly.TimedOut {
    /// The drop's sentence: what was held, for how long, and whether ICMP went back.
    func sentence(icmpSentTo answered: IPv4Address?, timeout: Nanoseconds) -> String {
        let key = expired.key
        var text = "\(expired.fragments) fragment\(expired.fragments == 1 ? "" : "s") (\(expired.receivedBytes) bytes) of a \(key.protocol.name) datagram from \(key.source) to \(key.destination) waited ipfrag_time (\(Units.format(timeout))) for the rest; the datagram is lost (ReasmTimeout)"
        if let source = answered {
            text += "; ICMP time exceeded (fragment reassembly, type 11 code 1) sent to \(source)"
        } else if expired.firstFragment == nil {
            text += "; no ICMP: the first fragment never arrived (ip_expire answers only with INET_FRAG_FIRST_IN)"
        }
        return text
    }
}
