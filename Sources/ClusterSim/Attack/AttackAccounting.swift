import PacketWire

/// What became of each attacker stream's packets: how many were sent, how many crossed the veth into a pod
/// (the pod's eth0 capture shows them), how many a pod's stack took, and every drop with its code, place
/// and sentence. An observer: it counts what the path reports and decides nothing.
final class AttackAccounting {
    struct Statistics {
        var sent = 0
        var reachedPod = 0
        var delivered = 0
        var drops: [DropKey: DropTally] = [:]
    }

    private(set) var streams: [Statistics]

    init(count: Int) {
        streams = Array(repeating: Statistics(), count: count)
    }

    func sent(_ attack: AttackID) { streams[attack.index].sent += 1 }

    /// The frame crossed the veth into a pod.
    func reachedPod(_ tag: PacketTag) {
        guard let attack = tag.attack else { return }
        streams[attack.index].reachedPod += 1
    }

    func delivered(_ tag: PacketTag) {
        guard let attack = tag.attack else { return }
        streams[attack.index].delivered += 1
    }

    func dropped(tag: PacketTag, at place: String, reason: DropReason, time: Nanoseconds) {
        guard let attack = tag.attack else { return }
        streams[attack.index].drops[DropKey(place: place, reason: reason), default: DropTally()].record(at: time, flowPacket: true)
    }
}
