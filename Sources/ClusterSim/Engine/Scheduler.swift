/// The simulation's clock and its event queue: the only place virtual time advances. Parts of the network
/// schedule what happens next (a packet arriving at the far end of a link, a timer, a sender's next
/// datagram); `Simulation` takes events out in time order and hands each to the part it is for. Events at
/// the same time run in the order they were scheduled, so a run is a pure function of its inputs, as
/// SwiftNIO's `EmbeddedEventLoop` is.
final class Scheduler {
    private var queue = EventQueue<Event>()
    /// The longest the queue got: it must stay flat as a scenario sends more packets.
    private(set) var peakQueued = 0

    /// Virtual time now, in nanoseconds.
    var now: Nanoseconds { queue.now }
    /// Virtual time of the last packet activity (a pod sending, a frame arriving): the run's duration in
    /// the report.
    private(set) var lastActivity: Nanoseconds = 0

    /// Something moved a packet now.
    @inline(__always)
    func noteActivity() { lastActivity = queue.now }
    var pending: Int { queue.count }

    func schedule(at time: Nanoseconds, _ event: Event) {
        queue.schedule(at: time, event)
    }

    func schedule(after delay: Nanoseconds, _ event: Event) {
        queue.schedule(after: delay, event)
    }

    /// Takes the earliest event and advances the clock to its time.
    func next() -> (time: Nanoseconds, event: Event)? {
        peakQueued = max(peakQueued, queue.count)
        guard let (time, event) = queue.next() else { return nil }
        return (time, event)
    }
}
