import DequeModule
import HeapModule

/// A discrete-event scheduler's queue: a virtual nanosecond clock and a priority queue of events. Events at
/// the same time run in the order they were scheduled, so a run is a pure function of its inputs.
///
/// Events for the present moment (a frame crossing a veth) skip the heap: they wait in a FIFO, and the
/// queue takes whichever of the FIFO's head and the heap's minimum was scheduled first, which keeps the
/// (time, order) sequence exactly as one heap would give it.
struct EventQueue<Payload> {
    struct Entry: Comparable {
        let time: Nanoseconds
        let order: UInt64
        let payload: Payload
        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.time, lhs.order) < (rhs.time, rhs.order) }
        static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.time == rhs.time && lhs.order == rhs.order }
    }

    private var heap = Heap<Entry>()
    /// Events scheduled for `now`, in order.
    private var immediate = Deque<Entry>()
    private var scheduled: UInt64 = 0
    private(set) var now: Nanoseconds = 0

    var isEmpty: Bool { heap.isEmpty && immediate.isEmpty }
    var count: Int { heap.count + immediate.count }

    mutating func schedule(at time: Nanoseconds, _ payload: Payload) {
        precondition(time >= now, "an event cannot be scheduled in the past")
        let entry = Entry(time: time, order: scheduled, payload: payload)
        scheduled += 1
        if time == now { immediate.append(entry) } else { heap.insert(entry) }
    }

    mutating func schedule(after delay: Nanoseconds, _ payload: Payload) {
        schedule(at: now.addingSaturating(delay), payload)
    }

    /// Removes the earliest event and advances the clock to its time.
    mutating func next() -> (time: Nanoseconds, payload: Payload)? {
        let entry: Entry
        if let first = immediate.first {
            if let min = heap.min, min < first {
                entry = heap.removeMin()
            } else {
                entry = immediate.removeFirst()
            }
        } else if let min = heap.popMin() {
            entry = min
        } else {
            return nil
        }
        now = entry.time
        return (entry.time, entry.payload)
    }
}
