import PacketWire

/// A traffic entry's application in one client pod: a rate sender for UDP datagrams and ICMP echo
/// requests (a count at a rate), or a bulk TCP transfer (one connection carrying `size` bytes).
final class Sender {
    let id: SenderID
    let flow: FlowID
    let spec: TrafficSpec
    let client: PodID
    let clientName: String
    /// The client's port (UDP, TCP) or ICMP echo identifier.
    let sourcePort: UInt16
    /// Datagrams or echo requests sent so far (and ticks that found no destination).
    private(set) var sent = 0
    private var nextSequence: UInt16 = 1
    let identification: IdentificationCounter
    /// The TCP connection, once opened.
    var connection: TCPClientConnection?
    // The network owns this part and outlives it: no reference counting on the way to it.
    unowned(unsafe) let network: Network
    /// Actions of the connection, reused between calls so handling a segment allocates nothing.
    private var actions: [TCPAction] = []
    /// The client pod's network stack (pod stacks are never removed; a deleted pod's stays in place).
    private unowned(unsafe) let stack: PodStack
    /// A Service destination's ClusterIP and port, found once: the Service table is fixed for the run,
    /// and finding it per datagram hashed its name and lowercased a protocol name each time.
    private let serviceTarget: (address: IPv4Address, port: UInt16)?
    /// Time between datagrams, from the rate.
    let interval: Nanoseconds

    init(id: SenderID, flow: FlowID, spec: TrafficSpec, client: Pod, network: Network) {
        self.id = id
        self.flow = flow
        self.spec = spec
        self.client = client.id
        clientName = client.name
        self.network = network
        stack = network[client.id]
        if case .service(let name) = spec.to, let service = network.services.service(named: name) {
            let port = service.ports.first { $0.protocol.rawValue.lowercased() == spec.protocol.rawValue }?.port ?? spec.port
            serviceTarget = (service.clusterIP, port)
        } else {
            serviceTarget = nil
        }
        let nanoseconds = (1e9 / spec.rate).rounded()  // saturating: the parser refuses rates outside Units.rateRange
        interval = nanoseconds >= 0 && nanoseconds < Double(Units.maximumDuration) ? Nanoseconds(nanoseconds) : Units.maximumDuration
        var ports = SplitMix64(seed: network.scenario.seed ^ stableHash(spec.name + client.name))
        sourcePort = UInt16(32768 + ports.next() % 28231)
        identification = IdentificationCounter(start: UInt16(truncatingIfNeeded: ports.next()))
        let ipProtocol: IPProtocol = switch spec.protocol { case .udp: .udp; case .tcp: .tcp; case .icmp: .icmp }
        network.seeds.register(ConnectionSeeds.Key(clientAddress: client.address, clientPort: sourcePort, protocol: ipProtocol),
                               identification: identification)
    }

    /// The generator fires: the next datagram or echo request, or the TCP connection opens.
    func tick() {
        guard !network.cluster.isDeleted(client), let target = destination() else {
            network.observers.accounting.unavailable(id, at: clientName)
            sent += 1
            if sent < spec.count && spec.protocol != .tcp { network.scheduler.schedule(after: interval, .senderTick(id)) }
            return
        }
        let buffer = network.pool.take()
        let tag = PacketTag(sender: id, role: .toServer, sentAt: network.now, isData: true)
        switch spec.protocol {
        case .udp:
            PodPackets.udp(buffer, stack.addressing(to: target.address, dontFragment: spec.dontFragment, identification: identification),
                           sourcePort: sourcePort, destinationPort: target.port, payload: spec.size, seed: UInt32(truncatingIfNeeded: sent))
        case .icmp:
            PodPackets.echo(buffer, stack.addressing(to: target.address, dontFragment: spec.dontFragment, identification: identification),
                            reply: false, identifier: sourcePort, sequence: nextSequence, payload: spec.size)
            nextSequence &+= 1
        case .tcp:
            // The pre-rebuild model took a buffer here too; it is counted among the run's packets.
            network.pool.release(buffer)
            open(to: target)
            return
        }
        sent += 1
        network.observers.accounting.update(flow) { $0.packetsSent += 1; $0.bytesSent += buffer.count - 14 }
        if sent < spec.count { network.scheduler.schedule(after: interval, .senderTick(id)) }
        stack.sendDatagram(buffer, tag, dontFragment: spec.dontFragment)
    }

    /// Where the flow goes now: a pod's address, or a Service's ClusterIP and port.
    private func destination() -> (address: IPv4Address, port: UInt16)? {
        let cluster = network.cluster
        switch spec.to {
        case .pod(let name):
            return cluster.pod(named: name).map { (cluster.address(of: $0), spec.port) }
        case .selector(let selector):
            return cluster.pods(matching: selector, at: network.now).first.map { (cluster.address(of: $0), spec.port) }
        case .service:
            return serviceTarget
        }
    }

    // MARK: - TCP

    private func open(to target: (address: IPv4Address, port: UInt16)) {
        var generator = SplitMix64(seed: network.scenario.seed ^ stableHash(clientName) ^ UInt64(id.index))
        let initialSequence = UInt32(truncatingIfNeeded: generator.next())
        let serverInitialSequence = UInt32(truncatingIfNeeded: generator.next())
        network.seeds.setServerInitialSequence(serverInitialSequence, for: ConnectionSeeds.Key(
            clientAddress: network.cluster[client].address, clientPort: sourcePort, protocol: .tcp))
        connection = TCPClientConnection(localPort: sourcePort, remoteAddress: target.address, remotePort: target.port,
                                         initialSequence: initialSequence, total: spec.size, mtu: network.scenario.overlay.mtu)
        network.observers.accounting.update(flow) { $0.connections += 1 }
        stack.registerClient(self)
        perform { $0.connect(into: &$1) }
    }

    func tcpTimerFired(generation: Int) {
        perform { $0.timerFired(generation: generation, into: &$1) }
    }

    func handle(_ segment: TCPSegmentFields) {
        perform { $0.handle(segment, into: &$1) }
    }

    func pathMTUReduced(to mtu: Int) {
        perform { $0.pathMTUReduced(to: mtu, into: &$1) }
    }

    /// Runs one step of the connection and carries out what it asks.
    private func perform(_ step: (inout TCPClientConnection, inout [TCPAction]) -> Void) {
        guard var state = connection else { return }
        actions.removeAll(keepingCapacity: true)
        step(&state, &actions)
        connection = state
        for action in actions {
            switch action {
            case let .send(header, carriesFlow):
                guard !network.cluster.isDeleted(client) else { continue }
                let buffer = network.pool.take()
                PodPackets.tcp(buffer, stack.addressing(to: state.remoteAddress, dontFragment: true, identification: identification),
                               header: header)
                if carriesFlow {
                    network.observers.accounting.update(flow) { $0.packetsSent += 1; $0.bytesSent += buffer.count - 14 }
                }
                stack.send(buffer, PacketTag(sender: id, role: .toServer, sentAt: network.now, isData: carriesFlow))
            case let .armTimer(delay, generation):
                network.scheduler.schedule(after: delay, .tcpTimer(id, generation: generation))
            case .completed:
                network.observers.accounting.update(flow) { $0.connectionsCompleted += 1 }
            case .failed:
                network.observers.accounting.update(flow) { $0.connectionsFailed += 1 }
            case .retransmitted(let segments):
                network.observers.accounting.update(flow) { $0.retransmissions += segments }
            case .loweredMSS(let mss):
                network.observers.accounting.update(flow) { $0.lowestMSS = min($0.lowestMSS ?? .max, mss) }
            }
        }
    }
}
