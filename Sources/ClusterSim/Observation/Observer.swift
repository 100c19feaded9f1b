import PacketWire

/// Something that watches packets move through the simulated network without taking part: the captures,
/// the flow accounting behind the report, the `--explain` trace. The forwarding code tells every observer
/// the same three things and never builds a string or writes a file itself.
protocol PacketObserver: AnyObject {
    /// A frame passes a capture point (a pod's eth0, a VTEP, a node's underlay interface).
    func transmitted(_ frame: UnsafeRawBufferPointer, at point: CapturePoint, tag: PacketTag, time: Nanoseconds)
    /// A frame goes no further: where, and why.
    func dropped(_ frame: UnsafeRawBufferPointer, tag: PacketTag, at place: String, reason: DropReason, time: Nanoseconds)
    /// A pod's network stack takes a whole datagram (after reassembly) off its interface.
    func delivered(_ frame: UnsafeRawBufferPointer, to pod: PodID, tag: PacketTag, time: Nanoseconds)
}

extension PacketObserver {
    func transmitted(_ frame: UnsafeRawBufferPointer, at point: CapturePoint, tag: PacketTag, time: Nanoseconds) {}
    func dropped(_ frame: UnsafeRawBufferPointer, tag: PacketTag, at place: String, reason: DropReason, time: Nanoseconds) {}
    func delivered(_ frame: UnsafeRawBufferPointer, to pod: PodID, tag: PacketTag, time: Nanoseconds) {}
}

/// The observers of one run, attached once at the start. Calls go to each concrete observer directly
/// (no dynamic dispatch on the hot path); `others` takes any further observer a caller attaches.
final class Observers {
    let accounting: FlowAccounting
    let firewallLog = FirewallLog()
    /// The attackers' streams (an empty table when the scenario has none).
    var attacks = AttackAccounting(count: 0)
    var captures: CaptureObserver? { didSet { watchesTransmissions = captures != nil || !others.isEmpty } }
    var explainer: Explainer? { didSet { explaining = explainer != nil } }
    var others: [any PacketObserver] = [] {
        didSet { watchesTransmissions = captures != nil || !others.isEmpty; hasOthers = !others.isEmpty }
    }
    // Whether anything watches, as plain flags: the packet path asks them several times per packet, and
    // reaching an optional observer or the list to find it absent cost a retain and a release each time.
    private var watchesTransmissions = false
    private var explaining = false
    private var hasOthers = false

    init(accounting: FlowAccounting) {
        self.accounting = accounting
    }

    @inline(__always)
    func transmitted(_ frame: UnsafeRawBufferPointer, at point: CapturePoint, tag: PacketTag, time: Nanoseconds) {
        guard watchesTransmissions else { return }
        notifyTransmitted(frame, at: point, tag: tag, time: time)
    }

    @inline(never)
    private func notifyTransmitted(_ frame: UnsafeRawBufferPointer, at point: CapturePoint, tag: PacketTag, time: Nanoseconds) {
        captures?.transmitted(frame, at: point, tag: tag, time: time)
        for observer in others { observer.transmitted(frame, at: point, tag: tag, time: time) }
    }

    func dropped(_ frame: UnsafeRawBufferPointer, tag: PacketTag, at place: String, reason: DropReason, time: Nanoseconds) {
        explainer?.dropped(frame, tag: tag, at: place, reason: reason, time: time)
        captures?.dropped(frame, tag: tag, at: place, reason: reason, time: time)
        accounting.dropped(frame, tag: tag, at: place, reason: reason, time: time)
        if tag.attack != nil { attacks.dropped(tag: tag, at: place, reason: reason, time: time) }
        for observer in others { observer.dropped(frame, tag: tag, at: place, reason: reason, time: time) }
    }

    @inline(__always)
    func delivered(_ frame: UnsafeRawBufferPointer, to pod: PodID, tag: PacketTag, time: Nanoseconds) {
        accounting.delivered(frame, to: pod, tag: tag, time: time)
        if tag.attack != nil { attacks.delivered(tag) }
        guard hasOthers else { return }
        for observer in others { observer.delivered(frame, to: pod, tag: tag, time: time) }
    }

    /// Whether `tag`'s packet is followed by `--explain`: only then is a trace line's text built.
    @inline(__always)
    func isExplained(_ tag: PacketTag) -> Bool {
        guard explaining else { return false }
        return explainer?.follows(tag) ?? false
    }

    /// A step of the explained flow's trace, recorded where the decision is made.
    @inline(__always)
    func trace(_ tag: PacketTag, _ place: @autoclosure () -> String, _ text: @autoclosure () -> String, time: Nanoseconds) {
        guard explaining, let explainer, explainer.follows(tag) else { return }
        explainer.record(place(), text(), time: time)
    }
}
