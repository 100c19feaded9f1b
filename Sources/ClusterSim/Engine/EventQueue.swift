import HeapModule

/// A discrete-event scheduler: a virtual nanosecond clock and a priority queue of events. Events at the
/// same time run in the order they were scheduled, so a run is a pure function of its inputs.
struct EventQueue<Payload> {
    struct Entry: Comparable {
        let time: Nanoseconds
        let order: UInt64
        let payload: Payload
        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.time, lhs.order) < (rhs.time, rhs.order) }
        static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.time == rhs.time && lhs.order == rhs.order }
    }

    private var heap = Heap<Entry>()
    private var scheduled: UInt64 = 0
    private(set) var now: Nanoseconds = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func schedule(at time: Nanoseconds, _ payload: Payload) {
        precondition(time >= now, "an event cannot be scheduled in the past")
        heap.insert(Entry(time: time, order: scheduled, payload: payload))
        scheduled += 1
    }

    mutating func schedule(after delay: Nanoseconds, _ payload: Payload) {
        schedule(at: now.addingSaturating(delay), payload)
    }

    /// Removes the earliest event and advances the clock to its time.
    mutating func next() -> (time: Nanoseconds, payload: Payload)? {
        guard let entry = heap.popMin() else { return nil }
        now = entry.time
        return (entry.time, entry.payload)
    }
}
