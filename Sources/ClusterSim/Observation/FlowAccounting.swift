import PacketWire

/// Where a packet was dropped and why: one line of the report.
struct DropKey: Hashable {
    var place: String
    var reason: DropReason
}

/// What one ``DropKey`` of a flow counted: every frame, how many of them the flow's `packetsDropped`
/// counts, and when the first and the last were dropped.
struct DropTally {
    /// Frames dropped (replies, acknowledgments, ICMP errors and every fragment included).
    var count = 0
    /// Of them, the flow's forward packets (a datagram split into fragments counts once): over a flow's
    /// drops these add up to its `packetsDropped`.
    var flowPackets = 0
    var first: Nanoseconds = .max
    var last: Nanoseconds = 0

    mutating func record(at time: Nanoseconds, flowPacket: Bool) {
        count += 1
        if flowPacket { flowPackets += 1 }
        first = min(first, time)
        last = max(last, time)
    }
}

/// What the report says about one traffic entry. Sent and delivered count the packets that carry the
/// flow forward (datagrams, echo requests, TCP SYNs and data segments, retransmissions included), so
/// the difference is what the network lost; acknowledgments and replies count only when dropped.
struct FlowStatistics {
    let spec: TrafficSpec
    var packetsSent = 0
    var bytesSent = 0
    var packetsDelivered = 0
    /// Packets that carry the flow forward and were dropped; the drops list also names the replies,
    /// acknowledgments and ICMP errors lost on the way.
    var packetsDropped = 0
    var bytesDelivered = 0
    var drops: [DropKey: DropTally] = [:]
    var latency = LatencyHistogram()
    var retransmissions = 0
    var icmpErrors = 0
    var endpoints: [String: Int] = [:]
    var connectionsCompleted = 0
    var connections = 0
    var connectionsFailed = 0
    /// ICMP echo replies back at the sender: a ping succeeds only with these.
    var echoReplies = 0
    var lowestMSS: Int?
    init(spec: TrafficSpec) { self.spec = spec }
}

/// The per-flow counters behind the report: an observer of drops and deliveries, told by the senders'
/// applications what they sent and by their TCP what it retransmitted.
final class FlowAccounting: PacketObserver {
    private(set) var flows: [FlowStatistics]
    /// The traffic entry each sender belongs to.
    private var senderFlows: [FlowID] = []
    /// The overlay's VXLAN port: a dropped outer packet's inner fragment offset is read through it.
    let overlayPort: UInt16

    init(traffic: [TrafficSpec], overlayPort: UInt16) {
        flows = traffic.map { FlowStatistics(spec: $0) }
        self.overlayPort = overlayPort
    }

    /// Registers a sender of `flow`; returns its identity.
    func addSender(of flow: FlowID) -> SenderID {
        senderFlows.append(flow)
        return SenderID(senderFlows.count - 1)
    }

    @inline(__always)
    func flow(of sender: SenderID) -> FlowID { senderFlows[sender.index] }

    /// Changes one flow's counters.
    @inline(__always)
    func update(_ flow: FlowID, _ change: (inout FlowStatistics) -> Void) {
        change(&flows[flow.index])
    }

    @inline(__always)
    func update(sender: SenderID, _ change: (inout FlowStatistics) -> Void) {
        change(&flows[senderFlows[sender.index].index])
    }

    func dropped(_ frame: UnsafeRawBufferPointer, tag: PacketTag, at place: String, reason: DropReason, time: Nanoseconds) {
        guard let sender = tag.sender else { return }
        let flow = senderFlows[sender.index].index
        // A datagram split into fragments is one packet lost, however many of its pieces are dropped.
        let flowPacket = tag.isData && !IPv4Frame.isContinuationFragment(frame, vxlanPort: overlayPort)
        flows[flow].drops[DropKey(place: place, reason: reason), default: DropTally()].record(at: time, flowPacket: flowPacket)
        if flowPacket { flows[flow].packetsDropped += 1 }
    }

    /// A sender found nothing to send to (no drop of a frame: nothing was built).
    func unavailable(_ sender: SenderID, at place: String, time: Nanoseconds) {
        flows[senderFlows[sender.index].index].drops[
            DropKey(place: place, reason: DropReason(.destinationUnavailable, "destination unavailable")), default: DropTally()]
            .record(at: time, flowPacket: false)
    }

    func delivered(_ frame: UnsafeRawBufferPointer, to pod: PodID, tag: PacketTag, time: Nanoseconds) {
        guard let sender = tag.sender else { return }
        let flow = senderFlows[sender.index].index
        guard let ip = IPv4Frame(frame) else { return }
        if ip.protocol == .icmp, ip.icmpType == 3 {
            flows[flow].icmpErrors += 1
            return
        }
        if tag.isData && tag.role == .toServer {
            flows[flow].packetsDelivered += 1
            flows[flow].bytesDelivered += frame.count - 14
            flows[flow].latency.record(time - tag.sentAt)
        }
        if ip.protocol == .icmp, ip.icmpType == 0, tag.role == .toClient {
            flows[flow].echoReplies += 1
        }
    }
}
