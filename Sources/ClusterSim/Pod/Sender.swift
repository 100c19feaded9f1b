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
    /// The connected socket's `inet_id` (drawn at connect), for UDP and TCP.
    private var identification: UInt16 = 0
    /// The connected socket's flow hash (`sk_txhash`) and how many times it was rethought.
    private var flowHash: UInt32 = 0
    private var rehashes = 0
    /// The UDP socket was connected (`ip4_datagram_connect`) toward this destination.
    private var connectedTo: (address: IPv4Address, port: UInt16)?
    /// The TCP connection, once opened.
    var connection: TCPClientConnection?
    // The network owns this part and outlives it; the packet path reaches the parts it needs directly
    // (an `unowned(unsafe)` reference is retained and released at each use: see `Unretained`).
    unowned(unsafe) let network: Network
    let cluster: Cluster
    let scheduler: Scheduler
    let observers: Observers
    let pool: BufferPool
    /// Actions of the connection, reused between calls so handling a segment allocates nothing.
    private var actions: [TCPAction] = []
    /// The client pod's network stack (pod stacks are never removed; a deleted pod's stays in place).
    private unowned(unsafe) let stack: PodStack
    /// The same, for the datagram path, uncounted (the stack holds its senders, so a strong reference
    /// would be a cycle).
    private let unretainedStack: Unretained<PodStack>
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
        cluster = network.cluster
        scheduler = network.scheduler
        observers = network.observers
        pool = network.pool
        stack = network[client.id]
        unretainedStack = Unretained(network[client.id])
        if case .service(let name) = spec.to, let service = network.services.service(named: name) {
            // The flow's port when it names one (the validator checked the Service has it), else the first.
            let port = spec.portLocation != nil ? spec.port
                : service.ports.first { $0.protocol.rawValue.lowercased() == spec.protocol.rawValue }?.port ?? spec.port
            serviceTarget = (service.clusterIP, port)
        } else {
            serviceTarget = nil
        }
        let nanoseconds = (1e9 / spec.rate).rounded()  // saturating: the parser refuses rates outside Units.rateRange
        interval = nanoseconds >= 0 && nanoseconds < Double(Units.maximumDuration) ? Nanoseconds(nanoseconds) : Units.maximumDuration
        var ports = SplitMix64(seed: network.scenario.seed ^ stableHash(spec.name + client.name))
        sourcePort = UInt16(32768 + ports.next() % 28231)
    }

    /// The generator fires: the next datagram or echo request, or the TCP connection opens.
    func tick() {
        guard !cluster.isDeleted(client), let target = destination() else {
            observers.accounting.unavailable(id, at: clientName, time: scheduler.now)
            sent += 1
            if sent < spec.count && spec.protocol != .tcp { scheduler.schedule(after: interval, .senderTick(id)) }
            return
        }
        switch spec.protocol {
        case .tcp:
            open(to: target)
            return
        case .udp:
            sendDatagram(to: target)
        case .icmp:
            sendEcho(to: target)
        case .sctp:
            sendSCTPInit(to: target)
        }
        sent += 1
        if sent < spec.count { scheduler.schedule(after: interval, .senderTick(id)) }
    }

    /// One datagram from the flow's connected UDP socket: DF as the entry says (the kernel's
    /// IP_PMTUDISC_WANT by default), the socket's IP ID counter (`ip_select_ident_segs`:
    /// `atomic_add_return` on `inet_id`), its flow hash on the packet.
    private func sendDatagram(to target: (address: IPv4Address, port: UInt16)) {
        unretainedStack { stack in sendDatagram(to: target, from: stack) }
    }

    private func sendDatagram(to target: (address: IPv4Address, port: UInt16), from stack: PodStack) {
        if connectedTo?.address != target.address || connectedTo?.port != target.port {
            // connect(): a new destination draws a new inet_id and sk_txhash (ip4_datagram_connect).
            connectedTo = target
            identification = stack.secrets.identification(source: stack.address, destination: target.address,
                                                          sourcePort: sourcePort, destinationPort: target.port)
            flowHash = stack.secrets.flowHash(source: stack.address, destination: target.address, sourcePort: sourcePort,
                                              destinationPort: target.port, generation: 0)
            stack.registerDatagramSocket(self)
        }
        let dontFragment = stack.datagramDontFragment(ipLength: 28 + spec.size, spec.dontFragment)
        identification &+= 1
        let buffer = pool.take()
        PodPackets.udp(buffer, stack.addressing(to: target.address, dontFragment: dontFragment, identification: identification),
                       sourcePort: sourcePort, destinationPort: target.port, payload: spec.size, seed: UInt32(truncatingIfNeeded: sent))
        var tag = PacketTag(sender: id, role: .toServer, sentAt: scheduler.now, isData: true)
        tag.socketHash = flowHash
        let bytes = buffer.count - 14
        // A datagram refused by the pod's own IP layer (EMSGSIZE) never left: not counted as sent.
        if stack.sendDatagram(buffer, tag, dontFragment: dontFragment) {
            observers.accounting.update(flow) { $0.packetsSent += 1; $0.bytesSent += bytes }
        }
    }

    /// One SCTP INIT (RFC 9260 §3.3.2), the first packet of an association, for `probe`: DF set (SCTP does
    /// path MTU discovery), the namespace's per-destination IP ID.
    private func sendSCTPInit(to target: (address: IPv4Address, port: UInt16)) {
        let stack = self.stack
        let buffer = network.pool.take()
        PodPackets.sctpInit(buffer, stack.addressing(to: target.address, dontFragment: true,
                                                     identification: stack.unconnectedIdentification(toward: target.address)),
                            sourcePort: sourcePort, destinationPort: target.port,
                            initiateTag: UInt32(truncatingIfNeeded: stableHash(clientName + spec.name)))
        let bytes = buffer.count - 14
        if stack.sendDatagram(buffer, PacketTag(sender: id, role: .toServer, sentAt: network.now, isData: true), dontFragment: true) {
            network.observers.accounting.update(flow) { $0.packetsSent += 1; $0.bytesSent += bytes }
        }
    }

    /// One echo request from an unconnected ping socket: DF as for UDP, the namespace's per-destination
    /// IP ID, no socket hash (the overlay hashes the inner flow).
    private func sendEcho(to target: (address: IPv4Address, port: UInt16)) {
        let stack = self.stack
        let dontFragment = stack.datagramDontFragment(ipLength: 28 + spec.size, spec.dontFragment)
        let buffer = network.pool.take()
        PodPackets.echo(buffer, stack.addressing(to: target.address, dontFragment: dontFragment,
                                                 identification: stack.unconnectedIdentification(toward: target.address)),
                        reply: false, identifier: sourcePort, sequence: nextSequence, payload: spec.size)
        nextSequence &+= 1
        let bytes = buffer.count - 14
        if stack.sendDatagram(buffer, PacketTag(sender: id, role: .toServer, sentAt: network.now, isData: true), dontFragment: dontFragment) {
            network.observers.accounting.update(flow) { $0.packetsSent += 1; $0.bytesSent += bytes }
        }
    }

    /// An ICMP error for the connected UDP socket (`__udp4_lib_err`): the next send() returns its errno.
    /// The application (as the testbed's agent) sends again at once, so no datagram is lost to it; the
    /// error is counted and explained.
    func datagramError(type: UInt8, code: UInt8, tag: PacketTag) {
        let text = TCPConnectError.errnoText(type: type, code: code)
        network.observers.trace(tag, "pod \(clientName)", "UDP socket \(sourcePort): the next send() returns \(text)", time: network.now)
    }

    /// Where the flow goes now: a pod's address, or a Service's ClusterIP and port.
    private func destination() -> (address: IPv4Address, port: UInt16)? {
        switch spec.to {
        case .pod(let name):
            return cluster.pod(named: name).map { (cluster.address(of: $0), spec.port) }
        case .selector(let selector):
            // `choose: one`: the first running matching pod by name; the report's endpoints say which
            // pods it reached (per connection for TCP, per packet otherwise).
            guard let pod = cluster.pods(matching: selector, at: network.now).first else { return nil }
            let name = cluster[pod].name
            observers.accounting.update(sender: id) { $0.endpoints[name, default: 0] += 1 }
            return (cluster.address(of: pod), spec.port)
        case .service:
            return serviceTarget
        }
    }

    // MARK: - TCP

    /// connect(): the socket's ISN (`secure_tcp_seq`), timestamp offset, `inet_id` and flow hash, then the SYN.
    private func open(to target: (address: IPv4Address, port: UInt16)) {
        let stack = self.stack
        let secrets = stack.secrets
        identification = secrets.identification(source: stack.address, destination: target.address,
                                                sourcePort: sourcePort, destinationPort: target.port)
        flowHash = secrets.flowHash(source: stack.address, destination: target.address, sourcePort: sourcePort,
                                    destinationPort: target.port, generation: 0)
        connectedTo = target
        connection = TCPClientConnection(
            localPort: sourcePort, remoteAddress: target.address, remotePort: target.port,
            initialSequence: secrets.initialSequence(source: stack.address, destination: target.address,
                                                     sourcePort: sourcePort, destinationPort: target.port, now: network.now),
            timestampOffset: secrets.timestampOffset(source: stack.address, destination: target.address),
            total: spec.size, settings: stack.tcpSettings(toward: target.address))
        network.observers.accounting.update(flow) { $0.connections += 1 }
        stack.registerClient(self)
        let now = network.now
        perform { $0.connect(now: now, into: &$1) }
    }

    func tcpTimerFired(generation: Int) {
        let now = network.now
        perform { $0.timerFired(generation: generation, now: now, into: &$1) }
    }

    func handle(_ segment: TCPSegmentFields) {
        let now = network.now
        perform { $0.handle(segment, now: now, into: &$1) }
    }

    func pathMTUReduced(to mtu: Int) {
        let now = network.now
        perform { $0.pathMTUReduced(to: mtu, now: now, into: &$1) }
    }

    /// An ICMP error other than fragmentation needed about one of the connection's segments.
    func unreachable(type: UInt8, code: UInt8, sequence: UInt32, tag: PacketTag) {
        var ended = false
        perform { ended = $0.unreachable(type: type, code: code, sequence: sequence, into: &$1) }
        if !ended {
            network.observers.trace(tag, "pod \(clientName)", "TCP \(sourcePort): ICMP \(type)/\(code) noted (sk_err_soft); retransmission goes on", time: network.now)
        }
    }

    /// Runs one step of the connection and carries out what it asks.
    private func perform(_ step: (inout TCPClientConnection, inout [TCPAction]) -> Void) {
        guard var state = connection else { return }
        actions.removeAll(keepingCapacity: true)
        step(&state, &actions)
        connection = state
        let stack = self.stack
        for action in actions {
            switch action {
            case let .send(header, carriesFlow):
                guard !network.cluster.isDeleted(client) else { continue }
                let buffer = network.pool.take()
                // ip_select_ident_segs on a connected TCP socket: this packet takes inet_id, then it counts on.
                PodPackets.tcp(buffer, stack.addressing(to: state.remoteAddress, dontFragment: true, identification: identification),
                               header: header)
                identification &+= 1
                if carriesFlow {
                    network.observers.accounting.update(flow) { $0.packetsSent += 1; $0.bytesSent += buffer.count - 14 }
                }
                var tag = PacketTag(sender: id, role: .toServer, sentAt: network.now, isData: carriesFlow)
                tag.socketHash = flowHash
                stack.send(buffer, tag)
            case let .armTimer(delay, generation):
                network.scheduler.schedule(after: delay, .tcpTimer(id, generation: generation))
            case .completed:
                network.observers.accounting.update(flow) { $0.connectionsCompleted += 1 }
            case .failed(let error):
                network.observers.accounting.update(flow) { $0.connectionsFailed += 1 }
                network.observers.trace(PacketTag(sender: id, role: .toServer, sentAt: network.now, isData: false),
                                        "pod \(clientName)", "TCP \(sourcePort): \(state.wasEstablished ? "the connection" : "connect()") fails: \(error.sentence)",
                                        time: network.now)
            case .retransmitted(let segments):
                network.observers.accounting.update(flow) { $0.retransmissions += segments }
            case .loweredMSS(let mss):
                network.observers.accounting.update(flow) { $0.lowestMSS = min($0.lowestMSS ?? .max, mss) }
            case .rehash:
                // sk_rethink_txhash: only with net.core.txrehash (SOCK_TXREHASH_DEFAULT follows the sysctl).
                guard network.scenario.sysctls.txRehash, let connectedTo else { continue }
                rehashes += 1
                flowHash = stack.secrets.flowHash(source: stack.address, destination: connectedTo.address, sourcePort: sourcePort,
                                                  destinationPort: connectedTo.port, generation: rehashes)
            }
        }
    }
}
