import DequeModule
import PacketWire

/// One direction of a link: its own transmitter and queue, as a full-duplex link has. A frame waits
/// for the transmitter, takes its serialisation time at the link's bandwidth, then its propagation
/// latency; a full queue drops it (tail drop), and the link may lose it at its loss rate.
final class LinkDirection {
    let id: DirectionID
    let from: PlaceID
    let to: PlaceID
    let link: LinkID
    let spec: LinkSpec
    // The link's numbers, stored beside the spec: the packet path reads them, and reading them through
    // `spec` copied the whole LinkSpec (with its names) each time.
    let mtu: Int
    let latency: Nanoseconds
    /// Bits per second.
    let bandwidth: UInt64
    let loss: Double
    let queue: Int
    /// When the transmitter is free again.
    private var busyUntil: Nanoseconds = 0
    /// Start times of packets waiting, oldest first, to count the queue without storing packets.
    private var waiting = Deque<Nanoseconds>()
    private(set) var packets = 0
    private(set) var bytes = 0
    private(set) var innerBytes = 0
    private(set) var queueDrops = 0
    private(set) var lossDrops = 0

    init(id: DirectionID, from: PlaceID, to: PlaceID, link: LinkID, spec: LinkSpec) {
        self.id = id
        self.from = from
        self.to = to
        self.link = link
        self.spec = spec
        mtu = spec.mtu
        latency = spec.latency
        bandwidth = spec.bandwidth
        loss = spec.loss
        queue = spec.queue
    }

    /// What became of a frame given to the link.
    enum Admission {
        /// On the wire; it reaches the far end at this time.
        case arrives(at: Nanoseconds)
        case queueFull
        case lost
    }

    /// Puts a frame of `length` bytes (carrying `innerLength` bytes of pod frame) on the link at `now`.
    /// - Parameter draw: the run's random source, asked only when the link has a loss rate.
    @inline(__always)
    func admit(length: Int, innerLength: Int, now: Nanoseconds, draw: () -> Double) -> Admission {
        while let first = waiting.first, first <= now { waiting.removeFirst() }
        if waiting.count >= queue {
            queueDrops += 1
            return .queueFull
        }
        // Ethernet on the wire adds preamble, FCS and inter-frame gap: 24 bytes per frame.
        let wireBits = UInt64(length + 24) * 8
        let serialisation = (wireBits * 1_000_000_000 + bandwidth - 1) / max(1, bandwidth)
        let start = max(now, busyUntil)
        if start > now { waiting.append(start) }
        busyUntil = start.addingSaturating(serialisation)  // saturating: a full queue on a 1 bit/s link
        packets += 1
        bytes += length
        self.innerBytes += innerLength
        if loss > 0 && draw() < loss {
            lossDrops += 1
            return .lost
        }
        return .arrives(at: busyUntil.addingSaturating(latency))
    }
}
