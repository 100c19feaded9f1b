import PacketWire

/// `overlay-sim run --explain FLOW`: the hop-by-hop trace of one traffic entry's packets, each line written
/// by the code that made the decision, with the virtual time to the nanosecond.
final class Explainer: PacketObserver {
    let flow: FlowID
    /// Which flow each sender belongs to.
    private unowned(unsafe) let accounting: FlowAccounting
    private(set) var lines: [String] = []
    static let limit = 600

    init(flow: FlowID, accounting: FlowAccounting) {
        self.flow = flow
        self.accounting = accounting
    }

    func follows(_ tag: PacketTag) -> Bool {
        guard let sender = tag.sender else { return false }
        return accounting.flow(of: sender) == flow
    }

    func record(_ place: String, _ text: String, time: Nanoseconds) {
        guard lines.count < Self.limit else {
            if lines.count == Self.limit { lines.append("… trace stops after \(Self.limit) lines") }
            return
        }
        lines.append("[\(Units.exact(time))] \(place): \(text)")
    }

    func dropped(_ frame: UnsafeRawBufferPointer, tag: PacketTag, at place: String, reason: DropReason, time: Nanoseconds) {
        guard follows(tag) else { return }
        record(place, "dropped: \(reason.sentence)", time: time)
    }
}
