import Capture
import PacketWire

/// One sender of a traffic entry: a client pod and, for TCP, its connection state. A `from` selector
/// yields one instance per matching pod.
struct FlowInstance {
    var spec: Int
    var client: Int
    var clientName: String
    var sourcePort: UInt16
    var sent = 0
    var nextSequence: UInt16 = 1
    var ipIdentification: UInt16
    var tcp: TCPConnection?
}

/// A simple Reno-less TCP: three-way handshake, go-back-N with a fixed window and a retransmission
/// timer, MSS from the pod MTU lowered by ICMP fragmentation needed, FIN exchange. Enough to show a
/// handshake pass while full-size segments vanish, and PMTU discovery converging.
struct TCPConnection {
    enum Phase { case synSent, established, finSent, closed }
    var phase = Phase.synSent
    var serverAddress: IPv4Address
    var serverPort: UInt16
    var initialSequence: UInt32
    var unacknowledged: UInt32
    var nextToSend: UInt32
    var total: Int
    var mss: Int
    var timerGeneration = 0
    /// Client side: the next byte expected from the server.
    var clientReceiveNext: UInt32 = 0
    /// Server side: the next byte expected from the client, and the server's initial sequence number.
    var serverReceiveNext: UInt32 = 0
    var serverSequence: UInt32
    var serverFinished = false
    /// Consecutive retransmission timeouts without progress.
    var timeouts = 0
    static let synRetries = 6
    static let dataRetries = 15
    static let window = 10
    static let synTimeout: Nanoseconds = 1_000_000_000
    static let dataTimeout: Nanoseconds = 200_000_000
    var acknowledgedBytes: Int { Int(unacknowledged &- initialSequence &- 1) }
    var sentBytes: Int { Int(nextToSend &- initialSequence &- 1) }
}

/// Where a packet was dropped and why: one line of the report.
struct DropKey: Hashable {
    var place: String
    var reason: String
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
    var drops: [DropKey: Int] = [:]
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

extension Simulation {
    func startTraffic() throws(CaptureError) {
        for (specIndex, spec) in scenario.traffic.enumerated() {
            let clients: [Int]
            switch spec.from {
            case .pod(let name): clients = cluster.podIndex(named: name).map { [$0] } ?? []
            case .selector(let selector): clients = cluster.pods(matching: selector, at: .max)
            case .service: clients = []
            }
            for client in clients {
                var portGenerator = SplitMix64(seed: scenario.seed ^ stableHash(spec.name + cluster.pods[client].name))
                let instance = FlowInstance(spec: specIndex, client: client, clientName: cluster.pods[client].name,
                                            sourcePort: UInt16(32768 + portGenerator.next() % 28231),
                                            ipIdentification: UInt16(truncatingIfNeeded: portGenerator.next()))
                flows.append(instance)
                events.schedule(at: max(spec.start, cluster.pods[client].readyAt), .flowTick(flows.count - 1))
            }
        }
    }

    /// The destination of a flow at this moment: a pod's address, or a Service's address and port.
    func destination(of spec: TrafficSpec) -> (address: IPv4Address, port: UInt16)? {
        switch spec.to {
        case .pod(let name):
            return cluster.podIndex(named: name).map { (cluster.pods[$0].address, spec.port) }
        case .selector(let selector):
            return cluster.pods(matching: selector, at: events.now).first.map { (cluster.pods[$0].address, spec.port) }
        case .service(let name):
            guard let service = scenario.services.first(where: { $0.name == name }) else { return nil }
            let port = service.ports.first { $0.protocol.rawValue.lowercased() == spec.protocol.rawValue }?.port ?? spec.port
            return (service.clusterIP, port)
        }
    }

    func addressing(from pod: Int, to destination: IPv4Address, dontFragment: Bool, flow: inout FlowInstance) -> PodPackets.Addressing {
        flow.ipIdentification &+= 1
        return PodPackets.Addressing(sourceMAC: cluster.pods[pod].mac, destinationMAC: cluster.nodes[cluster.pods[pod].node].gatewayMAC,
                                     source: cluster.pods[pod].address, destination: destination,
                                     dontFragment: dontFragment, identification: flow.ipIdentification)
    }

    /// The flow's generator fires: send the next UDP datagram or echo request, or open the TCP connection.
    func tick(_ index: Int) throws(CaptureError) {
        var flow = flows[index]
        let spec = scenario.traffic[flow.spec]
        guard !cluster.pods[flow.client].deleted, let target = destination(of: spec) else {
            stats[flow.spec].drops[DropKey(place: flow.clientName, reason: "destination unavailable"), default: 0] += 1
            flow.sent += 1
            flows[index] = flow
            if flow.sent < spec.count && spec.protocol != .tcp { events.schedule(after: interval(spec), .flowTick(index)) }
            return
        }
        let buffer = takeBuffer()
        let tag = PacketTag(flow: Int32(index), role: .toServer, sentAt: events.now, isData: true)
        switch spec.protocol {
        case .udp:
            PodPackets.udp(buffer, addressing(from: flow.client, to: target.address, dontFragment: spec.dontFragment, flow: &flow),
                           sourcePort: flow.sourcePort, destinationPort: target.port, payload: spec.size,
                           seed: UInt32(flow.sent))
        case .icmp:
            PodPackets.echo(buffer, addressing(from: flow.client, to: target.address, dontFragment: spec.dontFragment, flow: &flow),
                            reply: false, identifier: flow.sourcePort, sequence: flow.nextSequence, payload: spec.size)
            flow.nextSequence &+= 1
        case .tcp:
            release(buffer)
            flows[index] = flow
            try openConnection(index, to: target)
            return
        }
        flow.sent += 1
        stats[flow.spec].packetsSent += 1
        stats[flow.spec].bytesSent += buffer.count - 14
        flows[index] = flow
        if flow.sent < spec.count { events.schedule(after: interval(spec), .flowTick(index)) }
        let podMTU = scenario.overlay.mtu
        if buffer.count - 14 > podMTU {
            // The pod's own IP layer: with DF the send fails (EMSGSIZE); without, it fragments to its MTU.
            guard !spec.dontFragment else {
                drop(buffer, tag, at: "\(flow.clientName) eth0",
                     "a \(buffer.count - 14)-byte datagram with DF set does not fit the pod's MTU of \(podMTU) (EMSGSIZE)")
                return
            }
            for piece in fragment(buffer, mtu: podMTU) { try podSend(flow.client, piece, tag) }
            return
        }
        try podSend(flow.client, buffer, tag)
    }

    func interval(_ spec: TrafficSpec) -> Nanoseconds {
        let nanoseconds = (1e9 / spec.rate).rounded()  // saturating: the parser refuses rates outside Units.rateRange
        return nanoseconds >= 0 && nanoseconds < Double(Units.maximumDuration) ? Nanoseconds(nanoseconds) : Units.maximumDuration
    }

    // MARK: Receiving

    /// The pod's own IP layer puts fragments back together before its sockets see the datagram.
    func reassembleAtPod(_ pod: Int, _ buffer: PacketBuffer, _ tag: PacketTag) -> PacketBuffer? {
        let point = "\(cluster.pods[pod].name) IP reassembly"
        guard let packet = try? IPv4Packet(checking: buffer.readableBytes.dropFirst(count: 14), frameOffset: 14) else {
            drop(buffer, tag, at: point, "malformed fragment"); return nil
        }
        var reassembler = podReassembly[pod] ?? IPv4Reassembler()
        _ = reassembler.expire(now: events.now)
        let outcome = reassembler.add(packet, time: events.now)
        podReassembly[pod] = reassembler
        return reassembled(outcome, buffer, tag, at: point)
    }

    /// A frame reaches a pod's interface: its network stack answers echo requests and TCP, and counts.
    func podReceive(_ pod: Int, _ arrived: PacketBuffer, _ tag: PacketTag) throws(CaptureError) {
        try captures?.pod(cluster.pods[pod].name, arrived.readableBytes, at: events.now)
        var buffer = arrived
        if arrived.readableBytes.isIPv4FragmentFrame {
            guard let whole = reassembleAtPod(pod, arrived, tag) else { return }
            buffer = whole
        }
        let bytes = buffer.readableBytes
        if explainSpec >= 0 { explain(tag, "pod \(cluster.pods[pod].name)", "receives \(describe(bytes))") }
        defer { release(buffer) }
        guard tag.flow >= 0 else { return }
        let index = Int(tag.flow)
        let specIndex = flows[index].spec
        let ipHeader = Int(bytes[14] & 0x0F) * 4
        let l4 = 14 + ipHeader
        let proto = IPProtocol(rawValue: bytes[23])
        if proto == .icmp, bytes[l4] == 3 {
            stats[specIndex].icmpErrors += 1
            if bytes[l4 + 1] == 4, tag.role == .toClient, flows[index].tcp != nil {
                try tcpPathMTUReduced(index, mtu: Int(bytes.getInteger(at: l4 + 6, as: UInt16.self)))
            }
            return
        }
        if tag.isData && tag.role == .toServer {
            stats[specIndex].packetsDelivered += 1
            stats[specIndex].bytesDelivered += bytes.count - 14
            stats[specIndex].latency.record(events.now - tag.sentAt)
        }
        switch proto {
        case .icmp where bytes[l4] == 8:
            let reply = takeBuffer()
            var flow = flows[index]
            PodPackets.echo(reply, addressing(from: pod, to: IPv4Address(rawValue: bytes.getInteger(at: 26, as: UInt32.self)), dontFragment: false, flow: &flow),
                            reply: true, identifier: bytes.getInteger(at: l4 + 4, as: UInt16.self), sequence: bytes.getInteger(at: l4 + 6, as: UInt16.self),
                            payload: bytes.count - l4 - 8)
            flows[index] = flow
            try podSend(pod, reply, PacketTag(flow: tag.flow, role: .toClient, sentAt: events.now, isData: false))
        case .icmp where bytes[l4] == 0 && tag.role == .toClient:
            stats[specIndex].echoReplies += 1
        case .tcp:
            try tcpReceive(index, at: pod, bytes, role: tag.role)
        default:
            break
        }
    }
}
