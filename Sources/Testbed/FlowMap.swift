import ClusterSim
import PacketWire

/// One sender of a traffic entry as both runs have it: the client pod, its address and source port (or
/// ICMP echo identifier), which ClusterSim derives from the seed and the testbed binds to.
struct FlowIdentity: Hashable, Sendable {
    var name: String
    var `protocol`: TrafficProtocol
    var client: String
    var clientAddress: String
    var clientPort: Int
    /// Where the client sends: a pod's address or a Service's clusterIP, and the port.
    var destinationAddress: String
    var destinationPort: Int
    /// Pods that may receive it: the pod, the first pod of the selector, or the Service's endpoints.
    var servers: [String]
    var serverPort: Int
}

/// Which flow, direction and kind a packet is.
struct Classification: Hashable, Sendable, Comparable {
    var flow: String
    /// `→` client to server, `←` server (or a device on the path) to client.
    var direction: String
    var kind: String
    var key: String { "\(direction) \(kind)" }
    static func < (a: Classification, b: Classification) -> Bool { (a.flow, a.key) < (b.flow, b.key) }
}

/// The flows of a scenario and the attribution of packets to them.
struct FlowMap: Sendable {
    var identities: [FlowIdentity]

    /// - Parameters:
    ///   - scenario: the scenario both runs ran.
    ///   - pods: ClusterSim's pods (report.json's `pods`): names, nodes, addresses.
    init(scenario: Scenario, pods: [Report.PodEntry]) {
        let live = pods.filter { !$0.deleted }
        func labels(_ pod: Report.PodEntry) -> [String: String] {
            scenario.workloads.first { $0.name == pod.workload }?.labels ?? [:]
        }
        var identities: [FlowIdentity] = []
        for spec in scenario.traffic {
            let clients: [Report.PodEntry]
            switch spec.from {
            case .pod(let name): clients = live.filter { $0.name == name }
            case .selector(let selector): clients = live.filter { selector.matches(labels($0)) }.sorted { $0.name < $1.name }
            case .service: clients = []
            }
            var destination = "", port = Int(spec.port), servers: [String] = [], serverPort = Int(spec.port)
            switch spec.to {
            case .pod(let name):
                if let pod = live.first(where: { $0.name == name }) { destination = pod.address; servers = [pod.name] }
            case .selector(let selector):
                if let pod = live.filter({ selector.matches(labels($0)) }).min(by: { $0.name < $1.name }) {
                    destination = pod.address
                    servers = [pod.name]
                }
            case .service(let name):
                if let service = scenario.services.first(where: { $0.name == name }) {
                    destination = service.clusterIP.description
                    let servicePort = service.ports.first { $0.protocol.rawValue.lowercased() == spec.protocol.rawValue } ?? service.ports.first
                    port = Int(servicePort?.port ?? spec.port)
                    serverPort = Int(servicePort?.targetPort ?? spec.port)
                    servers = live.filter { service.selector.matches(labels($0)) }.map(\.name).sorted()
                }
            }
            for client in clients {
                identities.append(FlowIdentity(
                    name: spec.name, protocol: spec.protocol, client: client.name, clientAddress: client.address,
                    clientPort: Int(SimulatorAddressing.sourcePort(seed: scenario.seed, flow: spec.name, pod: client.name)),
                    destinationAddress: destination, destinationPort: port, servers: servers, serverPort: serverPort))
            }
        }
        self.identities = identities
    }

    static func tcpKind(_ flags: UInt8, payload: Int) -> String {
        let syn = flags & 0x02 != 0, ack = flags & 0x10 != 0, fin = flags & 0x01 != 0, rst = flags & 0x04 != 0
        if rst { return "tcp RST" }
        if syn { return ack ? "tcp SYN+ACK" : "tcp SYN" }
        if fin { return payload > 0 ? "tcp data+FIN" : "tcp FIN" }
        return payload > 0 ? "tcp data" : "tcp ACK"
    }

    /// The flow, direction and kind of `packet`, or nil when it belongs to no flow.
    func classify(_ packet: PacketFacts) -> Classification? {
        if let quoted = packet.quoted, let type = packet.icmpType, let code = packet.icmpCode {
            let kind = "icmp \(packet.protocol == 58 ? "v6 " : "")\(type)/\(code)"
            if let inner = quoted.inner?.facts, let about = classify(inner) {
                return Classification(flow: about.flow, direction: "underlay", kind: kind + " about VXLAN \(about.key)")
            }
            for identity in identities {
                let port = quoted.protocol == 1 ? quoted.icmpIdentifier : quoted.sourcePort
                if quoted.source == identity.clientAddress, port == identity.clientPort {
                    return Classification(flow: identity.name, direction: "←", kind: kind + " about →")
                }
                let back = quoted.protocol == 1 ? quoted.icmpIdentifier : quoted.destinationPort
                if quoted.destination == identity.clientAddress, back == identity.clientPort {
                    return Classification(flow: identity.name, direction: "→", kind: kind + " about ←")
                }
            }
            return Classification(flow: "underlay", direction: "", kind: kind)
        }
        for identity in identities {
            let forward = packet.source == identity.clientAddress
            let reverse = packet.destination == identity.clientAddress
            guard forward || reverse else { continue }
            let direction = forward ? "→" : "←"
            switch (identity.protocol, packet.protocol) {
            case (.udp, 17):
                let port = forward ? packet.sourcePort : packet.destinationPort
                if packet.fragmentOffset != 0 {
                    // A later fragment has no ports; addresses and protocol name the flow.
                    return Classification(flow: identity.name, direction: direction, kind: "udp (later fragment)")
                }
                guard port == identity.clientPort else { continue }
                return Classification(flow: identity.name, direction: direction, kind: packet.moreFragments ? "udp (first fragment)" : "udp")
            case (.icmp, 1):
                guard packet.fragmentOffset == 0 else {
                    return Classification(flow: identity.name, direction: direction, kind: "icmp (later fragment)")
                }
                guard packet.icmpIdentifier == identity.clientPort else { continue }
                let kind = packet.icmpType == 8 ? "echo request" : packet.icmpType == 0 ? "echo reply" : "icmp \(packet.icmpType ?? -1)"
                return Classification(flow: identity.name, direction: direction, kind: kind)
            case (.tcp, 6):
                let port = forward ? packet.sourcePort : packet.destinationPort
                guard port == identity.clientPort, let flags = packet.tcpFlags else { continue }
                return Classification(flow: identity.name, direction: direction, kind: Self.tcpKind(flags, payload: packet.tcpPayload))
            default:
                continue
            }
        }
        return nil
    }
}

/// What the report says about a flow, counted from captures the same way for both runs, so that the
/// simulator's definitions (FlowStatistics: datagrams, echo requests, SYNs and data segments forward,
/// retransmissions included) are applied to what the kernel did.
struct FlowCounts: Codable, Hashable, Sendable {
    var packetsSent = 0
    var packetsDelivered = 0
    var echoReplies = 0
    var icmpErrorsReceived = 0
    var connectionsCompleted = 0
    var retransmissions = 0
    /// Times (ns from the run's start) the client sent each SYN, first one included.
    var synTimes: [UInt64] = []
    /// Delay from a segment's first transmission to each retransmission of it, in order.
    var retransmissionDelays: [UInt64] = []
    /// The largest TCP payload or IP datagram sent.
    var largestSegment = 0

    /// Counts `flow` in the pod captures `pods` (name → frames), within `window` nanoseconds.
    static func count(_ identity: FlowIdentity, map: FlowMap, pods: [String: [FrameFacts]], window: UInt64, into counts: inout FlowCounts) {
        var firstSent: [UInt32: UInt64] = [:]
        var clientFIN = false, serverFIN = false
        for frame in pods[identity.client] ?? [] where frame.time <= window {
            guard let packet = frame.packet, let classified = map.classify(packet), classified.flow == identity.name else { continue }
            let forward = classified.direction == "→"
            if forward && packet.source == identity.clientAddress {
                switch identity.protocol {
                case .udp, .sctp:
                    if packet.fragmentOffset == 0 { counts.packetsSent += 1 }
                    counts.largestSegment = max(counts.largestSegment, packet.length)
                case .icmp:
                    if classified.kind == "echo request" { counts.packetsSent += 1 }
                    counts.largestSegment = max(counts.largestSegment, packet.length)
                case .tcp:
                    guard let flags = packet.tcpFlags, let sequence = packet.tcpSequence else { continue }
                    let syn = flags & 0x02 != 0
                    if flags & 0x01 != 0 { clientFIN = true }
                    guard syn || packet.tcpPayload > 0 else { continue }
                    counts.packetsSent += 1
                    counts.largestSegment = max(counts.largestSegment, packet.tcpPayload)
                    if syn { counts.synTimes.append(frame.time) }
                    if let first = firstSent[sequence] {
                        counts.retransmissions += 1
                        counts.retransmissionDelays.append(frame.time - first)
                    } else {
                        firstSent[sequence] = frame.time
                    }
                }
            } else if !forward && packet.destination == identity.clientAddress {
                if classified.kind == "echo reply" { counts.echoReplies += 1 }
                if packet.icmpType == 3 { counts.icmpErrorsReceived += 1 }
                if let flags = packet.tcpFlags, flags & 0x01 != 0 { serverFIN = true }
            }
        }
        if clientFIN && serverFIN { counts.connectionsCompleted += 1 }
        for server in identity.servers where server != identity.client {
            for frame in pods[server] ?? [] where frame.time <= window {
                guard let packet = frame.packet, packet.source == identity.clientAddress,
                      let classified = map.classify(packet), classified.flow == identity.name, classified.direction == "→" else { continue }
                switch identity.protocol {
                case .udp, .sctp: if packet.fragmentOffset == 0 && !classified.kind.hasPrefix("icmp") { counts.packetsDelivered += 1 }
                case .icmp: if classified.kind == "echo request" { counts.packetsDelivered += 1 }
                case .tcp:
                    if let flags = packet.tcpFlags, flags & 0x02 != 0 || packet.tcpPayload > 0 { counts.packetsDelivered += 1 }
                }
            }
        }
    }
}
