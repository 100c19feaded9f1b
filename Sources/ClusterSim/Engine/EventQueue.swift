import DequeModule
import HeapModule

/// A discrete-event scheduler's queue: a virtual nanosecond clock and a priority queue of events. Events at
/// the same time run in the order they were scheduled, so a run is a pure function of its inputs.
///
/// Events for the present moment (a frame crossing a veth) skip the heap: they wait in a FIFO, and the
/// queue takes whichever of the FIFO's head and the heap's minimum was scheduled first, which keeps the
/// (time, order) sequence exactly as one heap would give it.
///
/// The heap and the FIFO hold only (time, order, slot) triples, plain integers: the payloads (which hold
/// packet buffers, class references) wait in a side table at their slot and are moved in once and out
/// once. Sifting an entry through the heap then copies 24 bytes with no reference counting, where moving
/// the events themselves cost a retain and a release per step (perf: a fifth of large-100-nodes).
struct EventQueue<Payload> {
    struct Entry: Comparable {
        let time: Nanoseconds
        let order: UInt64
        /// Where the payload waits in `payloads`.
        let slot: Int
        @inline(__always)
        static func < (lhs: Entry, rhs: Entry) -> Bool { lhs.time < rhs.time || (lhs.time == rhs.time && lhs.order < rhs.order) }
        @inline(__always)
        static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.time == rhs.time && lhs.order == rhs.order }
    }

    private var heap = Heap<Entry>()
    /// Events scheduled for `now`, in order.
    private var immediate = Deque<Entry>()
    /// The payloads of the queued events, by slot; nil where a slot is free.
    private var payloads: [Payload?] = []
    /// Slots free for reuse, the most recently freed last (reused first: the table stays as small as the
    /// most events ever queued at once, and warm in the cache).
    private var freeSlots: [Int] = []
    private var scheduled: UInt64 = 0
    private(set) var now: Nanoseconds = 0

    var isEmpty: Bool { heap.isEmpty && immediate.isEmpty }
    var count: Int { heap.count + immediate.count }

    mutating func schedule(at time: Nanoseconds, _ payload: consuming Payload) {
        precondition(time >= now, "an event cannot be scheduled in the past")
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            payloads[slot] = consume payload
        } else {
            slot = payloads.count
            payloads.append(consume payload)
        }
        let entry = Entry(time: time, order: scheduled, slot: slot)
        scheduled += 1
        if time == now { immediate.append(entry) } else { heap.insert(entry) }
    }

    mutating func schedule(after delay: Nanoseconds, _ payload: consuming Payload) {
        schedule(at: now + delay, payload)
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
        guard let payload = payloads[entry.slot].take() else {
            preconditionFailure("event slot \(entry.slot) queued without a payload")
        }
        freeSlots.append(entry.slot)
        return (entry.time, payload)
    }
}
