import Capture
import Firewall
import PacketWire
import VXLAN

/// Simulation metadata that travels with a packet, as Linux keeps state in `skb->cb`: which flow it
/// belongs to and when it was sent. It never appears on the wire.
struct PacketTag {
    enum Role: UInt8 { case toServer, toClient, control }
    var flow: Int32
    var role: Role
    var sentAt: Nanoseconds
    /// This packet carries the flow's payload forward (counted as sent and delivered).
    var isData: Bool
    /// Bytes of the inner frame inside this outer packet (its first fragment carries them all), for the
    /// links' encapsulation overhead.
    var innerLength = 0
    /// The NAT (firewall index) that left this packet's UDP checksum wrong, or -1.
    var brokenChecksumBy: Int16 = -1
    /// The link (index) this packet was fragmented for, or -1; and its length before.
    var fragmentedOnLink: Int16 = -1
    var unfragmentedLength: UInt16 = 0
    static let none = PacketTag(flow: -1, role: .control, sentAt: 0, isData: false)
}

/// Runs one scenario: owns the cluster, the dataplane of every node, the underlay, the traffic and the
/// captures, and advances virtual time event by event. Nothing here reads a wall clock or an unseeded
/// random source, so the same scenario and seed give the same captures and report, byte for byte.
public final class Simulation {
    enum Event {
        case flowTick(Int)
        case tcpTimeout(Int, generation: Int)
        case arrive(PacketBuffer, PacketTag, place: Int, direction: Int)
        case deletePod(String)
        case deleteDeploymentPod(String)
    }

    /// The dataplane state of one node.
    struct NodeState {
        var endpoint: TunnelEndpoint
        /// Learned path MTU toward each remote node's VTEP (Linux's route exception after ICMP
        /// fragmentation needed); absent means the node's own uplink MTU.
        var pathMTU: [Int: Int] = [:]
        /// Learning mode: inner MAC → remote node, learned from decapsulated source MACs.
        var learned: [MACAddress: Int] = [:]
        var reassembly = IPv4Reassembler()
        /// kube-proxy's conntrack for Service DNAT: original → endpoint, and replies back.
        var natForward: [NATKey: NATTarget] = [:]
        var natReverse: [NATKey: NATTarget] = [:]
    }

    struct NATKey: Hashable {
        var proto: UInt8, source: IPv4Address, sourcePort: UInt16, destination: IPv4Address, destinationPort: UInt16
    }
    struct NATTarget: Hashable { var address: IPv4Address, port: UInt16 }

    public let scenario: Scenario
    var cluster: Cluster
    var underlay: Underlay
    var nodes: [NodeState] = []
    var flows: [FlowInstance] = []
    var stats: [FlowStatistics]
    var events = EventQueue<Event>()
    var random: SplitMix64
    var captures: CaptureSet?
    var pool: [PacketBuffer] = []
    var nodeByUnderlayAddress: [IPAddress: Int] = [:]
    /// Each pod's IP reassembly, made when a pod first receives a fragment.
    var podReassembly: [Int: IPv4Reassembler] = [:]
    var serviceByAddress: [IPv4Address: Int] = [:]
    var packetsSimulated = 0
    /// Packet buffers ever allocated, and the longest the event queue got: both must stay flat as a
    /// scenario sends more packets, which is what keeps memory from growing with the packet count.
    public private(set) var buffersAllocated = 0
    public private(set) var peakQueuedEvents = 0
    var lastActivity: Nanoseconds = 0
    /// Called now and then with (virtual time, packets so far): the CLI draws its progress line.
    public var progress: ((Nanoseconds, Int) -> Void)?
    /// Packets and capture bytes the run may spend; `run` stops when one is reached.
    public var limits = RunLimits()
    /// Set when `run` stopped at a limit: the captures were abandoned and the report is partial.
    public private(set) var stopped: RunStop?
    var firewalls: FirewallPlan
    var firewallDrops = FirewallDropLog()
    var firewallRewrites = FirewallRewriteLog()
    /// Names of nodes, routers and pods, for explanations.
    var addressNames: AddressBook
    /// The traffic entry whose packets `run` traces hop by hop (`overlay-sim run --explain FLOW`).
    public var explainFlow: String?
    var explainSpec = -1
    var explanation: [String] = []

    public var overhead: Int { TunnelEndpoint.overhead(ipv6: cluster.nodes.first?.spec.address.isIPv6 ?? false) }

    public init(scenario: Scenario) throws(ScenarioError) {
        self.scenario = scenario
        cluster = try Cluster(scenario: scenario)
        underlay = Underlay(scenario: scenario, cluster: cluster)
        addressNames = FirewallPlan.names(cluster: cluster, underlay: underlay)
        firewalls = FirewallPlan(scenario: scenario, cluster: cluster, underlay: underlay, names: addressNames)
        random = SplitMix64(seed: scenario.seed)
        stats = scenario.traffic.map { FlowStatistics(spec: $0) }
        let overlay = scenario.overlay
        for (index, node) in cluster.nodes.enumerated() {
            var configuration = TunnelConfiguration(
                vni: overlay.vni, local: node.spec.address, destinationPort: overlay.destinationPort,
                sourcePortRange: overlay.sourcePortRange, ttl: overlay.ttl, tos: overlay.tos, df: overlay.df,
                udpChecksum: overlay.udpChecksum, groupBasedPolicy: overlay.groupBasedPolicy,
                underlaySourceMAC: node.underlayMAC, flowHashSeed: UInt32(truncatingIfNeeded: scenario.seed &* 31 &+ UInt64(index)))
            configuration.udp6ZeroChecksumRx = false
            let initialID = UInt16(truncatingIfNeeded: stableHash(node.spec.name) ^ scenario.seed)
            nodes.append(NodeState(endpoint: TunnelEndpoint(configuration: configuration, initialIdentification: initialID)))
            nodeByUnderlayAddress[node.spec.address] = index
        }
        for (index, service) in scenario.services.enumerated() { serviceByAddress[service.clusterIP] = index }
    }

    // MARK: - Running

    /// Runs the scenario to the end, writing captures under `directory` (nil: no captures), and returns
    /// the report. On a capture error nothing is left under a final file name.
    public func run(captureDirectory directory: String?) throws(CaptureError) -> Report {
        if let directory {
            captures = try CaptureSet(directory: directory, settings: scenario.captures,
                                      nodeNames: cluster.nodes.map(\.spec.name), podCount: cluster.pods.count)
        }
        explainSpec = explainFlow.flatMap { name in scenario.traffic.firstIndex { $0.name == name } } ?? -1
        do {
            try startTraffic()
            for event in scenario.events {
                switch event.action {
                case .deletePod(let name): events.schedule(at: event.at, .deletePod(name))
                case .deleteDeploymentPod(let deployment): events.schedule(at: event.at, .deleteDeploymentPod(deployment))
                }
            }
            let maximumPackets = limits.maximumPackets ?? .max, maximumCaptureBytes = limits.maximumCaptureBytes ?? .max
            while let (time, event) = events.next() {
                peakQueuedEvents = max(peakQueuedEvents, events.count + 1)
                try handle(event, at: time)
                if packetsSimulated & 0xFFFF == 0 { progress?(time, packetsSimulated) }
                if time > Units.maximumVirtualTime {
                    stopped = RunStop(limit: .virtualTime(Units.maximumVirtualTime), virtualTime: time, packets: packetsSimulated)
                } else if packetsSimulated >= maximumPackets {
                    stopped = RunStop(limit: .packets(maximumPackets), virtualTime: time, packets: packetsSimulated)
                } else if let captures, captures.bytesWritten > maximumCaptureBytes {
                    stopped = RunStop(limit: .captureBytes(maximumCaptureBytes), virtualTime: time, packets: packetsSimulated)
                }
                if stopped != nil {
                    captures?.abandon()
                    captures = nil
                    return makeReport()
                }
            }
            try captures?.close()
        } catch {
            captures?.abandon()
            throw error
        }
        return makeReport()
    }

    func handle(_ event: Event, at time: Nanoseconds) throws(CaptureError) {
        switch event {
        case .flowTick(let flow):
            try tick(flow)
        case .tcpTimeout(let flow, let generation):
            try tcpTimeout(flow, generation: generation)
        case let .arrive(buffer, tag, place, direction):
            lastActivity = time
            try arrive(buffer, tag, at: place, via: direction)
        case .deletePod(let name):
            _ = try? cluster.deletePod(named: name, at: time)
        case .deleteDeploymentPod(let deployment):
            if let pod = cluster.livePods.filter({ $0.workload == deployment }).map(\.name).min() {
                _ = try? cluster.deletePod(named: pod, at: time)
            }
        }
    }

    // MARK: - Buffers

    func takeBuffer() -> PacketBuffer {
        packetsSimulated += 1
        if let buffer = pool.popLast() {
            buffer.reset()
            return buffer
        }
        buffersAllocated += 1
        return PacketBuffer(capacity: 128 + 9216 + 128)
    }

    func release(_ buffer: PacketBuffer) {
        if pool.count < 4096 { pool.append(buffer) }
    }

    /// Accounts a dropped packet to its flow with where and why, and recycles its buffer.
    func drop(_ buffer: PacketBuffer, _ tag: PacketTag, at point: String, _ reason: String) {
        if explainSpec >= 0 { explain(tag, point, "dropped: \(reason)") }
        // A failed write here is not lost: the writer keeps the stream's error and `close()` reports it,
        // failing the run with nothing left under a final name.
        try? captures?.drop(buffer.readableBytes, at: events.now)
        if tag.flow >= 0 {
            let flow = flows[Int(tag.flow)].spec
            stats[flow].drops[DropKey(place: point, reason: reason), default: 0] += 1
            // A datagram split into fragments is one packet lost, however many of its pieces are dropped.
            if tag.isData && !isContinuationFragment(buffer.readableBytes) { stats[flow].packetsDropped += 1 }
        }
        release(buffer)
    }

    /// True for an IPv4 fragment other than the first, outer or, inside a whole VXLAN packet, inner.
    func isContinuationFragment(_ frame: UnsafeRawBufferPointer) -> Bool {
        func laterFragment(at offset: Int) -> Bool? {
            guard frame.count >= offset + 20, frame.getInteger(at: offset - 2, as: UInt16.self) == EtherType.ipv4.rawValue else { return nil }
            return frame.getInteger(at: offset + 6, as: UInt16.self) & 0x1FFF != 0
        }
        guard let outer = laterFragment(at: 14) else { return false }
        if outer { return true }
        let udp = 14 + Int(frame[14] & 0x0F) * 4
        guard frame[23] == IPProtocol.udp.rawValue, frame.count >= udp + 4,
              frame.getInteger(at: udp + 2, as: UInt16.self) == scenario.overlay.destinationPort else { return false }
        return laterFragment(at: udp + 8 + 8 + 14) ?? false
    }
}
