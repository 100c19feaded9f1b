/// What a run may spend before it is stopped: packets simulated and bytes written to captures.
/// `overlay-sim run --max-packets N --max-capture-bytes B` sets them (capture bytes default to 4 GiB
/// there); nil is no limit.
public struct RunLimits: Hashable, Sendable {
    public var maximumPackets: Int?
    public var maximumCaptureBytes: UInt64?
    public init(maximumPackets: Int? = nil, maximumCaptureBytes: UInt64? = nil) {
        self.maximumPackets = maximumPackets
        self.maximumCaptureBytes = maximumCaptureBytes
    }
}

/// Why a run stopped before its traffic was done: a limit of ``RunLimits`` was reached. The captures
/// were abandoned (nothing under a final name); the report counts what happened until then.
public struct RunStop: Hashable, Sendable, CustomStringConvertible {
    public enum Limit: Hashable, Sendable { case packets(Int), captureBytes(UInt64), virtualTime(Nanoseconds) }
    public var limit: Limit
    public var virtualTime: Nanoseconds
    public var packets: Int

    public var description: String {
        switch limit {
        case .packets(let maximum):
            "stopped after \(packets) packets at virtual time \(Units.format(virtualTime)): the limit is \(maximum) (--max-packets)"
        case .captureBytes(let maximum):
            "stopped after \(packets) packets at virtual time \(Units.format(virtualTime)): the captures reached the limit of \(maximum) bytes (--max-capture-bytes)"
        case .virtualTime(let maximum):
            "stopped after \(packets) packets: virtual time passed \(Units.format(maximum)) (about 73 years), where runs end"
        }
    }
}

/// What a run will ask for, estimated from the scenario before it starts, so a person can stop a run
/// that would take hours or more memory than the machine has.
public struct RunEstimate: Hashable, Sendable {
    /// Packets the traffic puts on the wire, replies and fragments included (an estimate: losses,
    /// retransmissions and drops change it).
    public var packets: UInt64
    /// Peak resident memory in bytes: the fixed part (program, buffer pool) and what each pod, flow
    /// sender holds (measured with /usr/bin/time on scenarios of 20,000 and 40,000 flows, 1,000 and 2,000 pods).
    public var peakMemoryBytes: UInt64
    /// Worth printing: more than a million packets, or more than 1 GiB.
    public var isLarge: Bool { packets > 1_000_000 || peakMemoryBytes > 1 << 30 }

    /// Resident memory of a run with nothing in it (program, libraries, the scenario).
    static let baseBytes: UInt64 = 24 << 20
    /// The packet buffer pool: at most 4,096 buffers of 9,472 bytes are kept for reuse.
    static let bufferPoolBytes: UInt64 = 4096 * 9472
    /// Measured per pod (its record, addresses, names, its capture writer when pods are captured).
    static let bytesPerPod: UInt64 = 4_096
    static let bytesPerPodCapture: UInt64 = 8_192
    /// Measured per flow sender (a FlowInstance with its TCP state) and per traffic entry (its
    /// statistics, the latency histogram's buckets once it has samples).
    static let bytesPerSender: UInt64 = 256
    static let bytesPerTrafficEntry: UInt64 = 4_096

    public var description: String {
        "about \(Self.count(packets)) packets and \(peakMemoryBytes >> 20) MiB of memory at peak (estimated)"
    }

    static func count(_ value: UInt64) -> String {
        var digits = String(value), grouped = ""
        while digits.count > 3 { grouped = "," + digits.suffix(3) + grouped; digits.removeLast(3) }
        return digits + grouped
    }
}

extension Simulation {
    /// The run's demand, from the scenario alone: senders per traffic entry (a selector's pods at
    /// start), packets per sender, fragments for datagrams above the pod MTU, and the memory each pod,
    /// sender and link holds. Saturates rather than overflows on absurd scenarios.
    public func estimate(capturesEnabled: Bool) -> RunEstimate {
        var packets: UInt64 = 0
        var senders: UInt64 = 0
        let mtu = max(68, scenario.overlay.mtu)
        for spec in scenario.traffic {
            let clients: UInt64 = switch spec.from {
            case .pod(let name): network.cluster.pod(named: name) == nil ? 0 : 1
            case .selector(let selector): UInt64(network.cluster.pods(matching: selector, at: .max).count)
            case .service: 0
            }
            senders = senders.addingSaturating(clients)
            let perClient: UInt64
            switch spec.protocol {
            case .udp, .icmp:
                // The IP payload (8 bytes of UDP or ICMP header and the data) in fragments of the MTU.
                let perFragment = max(8, (mtu - 20) / 8 * 8)
                let fragments = UInt64(max(1, (spec.size + 8 + perFragment - 1) / perFragment))
                let echo: UInt64 = spec.protocol == .icmp ? 2 : 1
                perClient = UInt64(spec.count).multipliedSaturating(by: fragments.multipliedSaturating(by: echo))
            case .sctp:
                // One INIT per count.
                perClient = UInt64(spec.count)
            case .tcp:
                // Segments of the MSS, each acknowledged, plus the handshake and the close.
                let segments = UInt64(spec.size / max(1, mtu - 40) + 1)
                perClient = segments.multipliedSaturating(by: 2).addingSaturating(6)
            }
            packets = packets.addingSaturating(clients.multipliedSaturating(by: perClient))
        }
        let pods = UInt64(network.cluster.pods.count)
        var memory = RunEstimate.baseBytes + RunEstimate.bufferPoolBytes
        memory = memory.addingSaturating(pods.multipliedSaturating(by: RunEstimate.bytesPerPod
            + (capturesEnabled && scenario.captures.pods ? RunEstimate.bytesPerPodCapture : 0)))
        memory = memory.addingSaturating(senders.multipliedSaturating(by: RunEstimate.bytesPerSender))
        memory = memory.addingSaturating(UInt64(scenario.traffic.count).multipliedSaturating(by: RunEstimate.bytesPerTrafficEntry))
        // The next-hop table: a row of every place for every place.
        let places = UInt64(network.underlay.places.count)
        memory = memory.addingSaturating(places.multipliedSaturating(by: places).multipliedSaturating(by: 8))
        return RunEstimate(packets: packets, peakMemoryBytes: memory)
    }
}

extension UInt64 {
    func addingSaturating(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    func multipliedSaturating(by other: UInt64) -> UInt64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? .max : product
    }
}
