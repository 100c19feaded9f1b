import PacketWire

/// A pod's network stack: its eth0 (one end of a veth whose other end is on the node's `cni0` bridge), IP
/// with reassembly, and the sockets, found by address and port as the kernel's socket lookup finds them:
/// TCP connections the pod opened, TCP connections it accepted, and the ICMP echo responder every Linux
/// host has.
final class PodStack {
    let pod: PodID
    let name: String
    let address: IPv4Address
    let mac: MACAddress
    /// The node's `cni0` MAC: the next hop of everything the pod sends.
    let gatewayMAC: MACAddress
    /// The interface MTU (the overlay's pod MTU).
    let mtu: Int
    unowned(unsafe) let node: ClusterNode
    // The network owns this part and outlives it: no reference counting on the way to it.
    unowned(unsafe) let network: Network
    /// The IP layer's reassembly, made when the pod first receives a fragment.
    private var reassembly: IPv4Reassembler?
    /// Connections this pod opened, by local port, remote address and remote port.
    private var clients: [ConnectionKey: Sender] = [:]
    /// Which of them uses each local port (an ICMP error names only the local end it quotes).
    private var clientsByPort: [UInt16: Sender] = [:]
    /// Connections this pod accepted.
    private var accepted: [ConnectionKey: TCPServerConnection] = [:]
    /// The path MTU the pod's routes learned from ICMP fragmentation needed, per destination (a route
    /// exception in the pod's namespace, shared by all its sockets: net/ipv4/route.c `__ip_rt_update_pmtu`).
    private var learnedPathMTU: [IPv4Address: Int] = [:]

    /// What the pod's route toward `destination` allows: the interface MTU, or less once learned.
    func pathMTU(toward destination: IPv4Address) -> Int { min(mtu, learnedPathMTU[destination] ?? mtu) }

    struct ConnectionKey: Hashable {
        var localPort: UInt16
        var remoteAddress: IPv4Address
        var remotePort: UInt16
    }

    init(pod: Pod, node: ClusterNode, network: Network) {
        self.pod = pod.id
        name = pod.name
        address = pod.address
        mac = pod.mac
        gatewayMAC = node.gatewayMAC
        mtu = network.scenario.overlay.mtu
        self.node = node
        self.network = network
    }

    /// Ethernet and IPv4 addressing for a packet this pod sends, with the next identification.
    func addressing(to destination: IPv4Address, dontFragment: Bool, identification: IdentificationCounter) -> PodPackets.Addressing {
        PodPackets.Addressing(sourceMAC: mac, destinationMAC: gatewayMAC, source: address, destination: destination,
                              dontFragment: dontFragment, identification: identification.next())
    }

    func registerClient(_ sender: Sender) {
        guard let connection = sender.connection else { return }
        let key = ConnectionKey(localPort: connection.localPort, remoteAddress: connection.remoteAddress, remotePort: connection.remotePort)
        clients[key] = sender
        clientsByPort[connection.localPort] = sender
    }

    // MARK: - Sending

    /// The pod puts a frame on its eth0: the capture, then the veth to the node.
    func send(_ buffer: PacketBuffer, _ tag: PacketTag) {
        network.lastActivity = network.now
        network.observers.transmitted(buffer.readableBytes, at: .pod(pod), tag: tag, time: network.now)
        network.observers.trace(tag, "pod \(name)", "sends \(network.describe(buffer.readableBytes)) (\(buffer.count) bytes)", time: network.now)
        node.route(buffer, tag)
    }

    /// A datagram from a socket through the pod's IP output: larger than the MTU, it is refused with DF
    /// (EMSGSIZE, as `ip_fragment` refuses) or fragmented (RFC 791).
    /// The MTU is the route's: the interface's, or the path MTU learned toward the destination.
    /// - Returns: whether the datagram left (false: EMSGSIZE).
    @discardableResult
    func sendDatagram(_ buffer: PacketBuffer, _ tag: PacketTag, dontFragment: Bool) -> Bool {
        let destination = IPv4Frame(buffer.readableBytes)?.destination ?? .any
        let mtu = pathMTU(toward: destination)
        guard buffer.count - IPv4Frame.ethernetHeaderLength > mtu else {
            send(buffer, tag)
            return true
        }
        guard !dontFragment else {
            let learned = mtu < self.mtu ? "the path MTU of \(mtu) learned toward \(destination)" : "the pod's MTU of \(mtu)"
            network.drop(buffer, tag, at: "\(name) eth0", DropReason(.messageTooLong,
                "a \(buffer.count - IPv4Frame.ethernetHeaderLength)-byte datagram with DF set does not fit \(learned) (EMSGSIZE)"))
            return false
        }
        for piece in network.fragment(buffer, mtu: mtu) { send(piece, tag) }
        return true
    }

    // MARK: - Receiving

    /// A frame comes off the veth: the capture, reassembly, then the socket it is for.
    func receive(_ arrived: PacketBuffer, _ tag: PacketTag) {
        network.observers.transmitted(arrived.readableBytes, at: .pod(pod), tag: tag, time: network.now)
        var buffer = arrived
        if IPv4Frame(arrived.readableBytes)?.isFragment == true {
            guard let whole = reassemble(arrived, tag) else { return }
            buffer = whole
        }
        defer { network.pool.release(buffer) }
        let bytes = buffer.readableBytes
        network.observers.trace(tag, "pod \(name)", "receives \(network.describe(bytes))", time: network.now)
        network.observers.delivered(bytes, to: pod, tag: tag, time: network.now)
        guard let frame = IPv4Frame(bytes) else { return }
        switch frame.protocol {
        case .icmp:
            receiveICMP(frame, tag)
        case .tcp:
            receiveTCP(frame, tag)
        default:
            // UDP: the datagram is the application's; nothing answers it.
            break
        }
    }

    private func receiveICMP(_ frame: IPv4Frame, _ tag: PacketTag) {
        switch frame.icmpType {
        case 3:
            // Destination unreachable: fragmentation needed (RFC 1191) lowers a TCP connection's MSS. The
            // socket is found by the local end of the quoted packet.
            guard frame.icmpCode == 4, let quoted = IPv4Frame.quoted(frame.icmpQuote), quoted.source == address else { return }
            // Every socket's error handler (tcp_v4_err, udp_err, ping_err) updates the route's PMTU
            // (`ipv4_sk_update_pmtu`); a value below 552 is raised to `min_pmtu` (552).
            let mtu = frame.icmpNextHopMTU
            if mtu >= 68 { learnedPathMTU[quoted.destination] = max(552, min(mtu, pathMTU(toward: quoted.destination))) }
            guard quoted.protocol == .tcp, let sender = clientsByPort[quoted.sourcePort] else { return }
            sender.pathMTUReduced(to: frame.icmpNextHopMTU)
        case 8:
            // Echo request: the kernel answers (net/ipv4/icmp.c `icmp_echo`) with the same identifier,
            // sequence number and data.
            let requester = frame.source
            let key = ConnectionSeeds.Key(clientAddress: requester, clientPort: frame.icmpIdentifier, protocol: .icmp)
            let identification = network.seeds.identification(for: key) ?? IdentificationCounter(start: 0)
            let reply = network.pool.take()
            PodPackets.echo(reply, addressing(to: requester, dontFragment: false, identification: identification),
                            reply: true, identifier: frame.icmpIdentifier, sequence: frame.icmpSequence,
                            payload: frame.icmpPayloadLength)
            send(reply, PacketTag(sender: tag.sender, role: .toClient, sentAt: network.now, isData: false))
        default:
            break
        }
    }

    private func receiveTCP(_ frame: IPv4Frame, _ tag: PacketTag) {
        guard frame.hasTransport(TCPSegment.minimumHeaderLength) else { return }
        let segment = TCPSegmentFields(frame)
        let key = ConnectionKey(localPort: segment.destinationPort, remoteAddress: frame.source, remotePort: segment.sourcePort)
        if let sender = clients[key] {
            sender.handle(segment)
            return
        }
        // Every port listens (the model answers any connection; closed ports come with the Linux-fidelity work).
        var connection: TCPServerConnection
        if let existing = accepted[key] {
            connection = existing
        } else {
            let seeds = ConnectionSeeds.Key(clientAddress: frame.source, clientPort: segment.sourcePort, protocol: .tcp)
            connection = TCPServerConnection(localPort: segment.destinationPort, remoteAddress: frame.source,
                                             remotePort: segment.sourcePort,
                                             initialSequence: network.seeds.serverInitialSequence(for: seeds) ?? 0, mtu: mtu)
        }
        let reply = connection.handle(segment)
        accepted[key] = connection
        guard let reply else { return }
        let seeds = ConnectionSeeds.Key(clientAddress: frame.source, clientPort: segment.sourcePort, protocol: .tcp)
        let identification = network.seeds.identification(for: seeds) ?? IdentificationCounter(start: 0)
        let buffer = network.pool.take()
        PodPackets.tcp(buffer, addressing(to: frame.source, dontFragment: true, identification: identification), header: reply)
        send(buffer, PacketTag(sender: tag.sender, role: .toClient, sentAt: network.now, isData: false))
    }

    /// The pod's IP layer puts fragments back together before its sockets see the datagram.
    private func reassemble(_ buffer: PacketBuffer, _ tag: PacketTag) -> PacketBuffer? {
        let point = "\(name) IP reassembly"
        guard let packet = try? IPv4Packet(checking: buffer.readableBytes.dropFirst(count: IPv4Frame.ethernetHeaderLength),
                                           frameOffset: IPv4Frame.ethernetHeaderLength) else {
            network.drop(buffer, tag, at: point, DropReason(.malformed, "malformed fragment")); return nil
        }
        var reassembler = reassembly ?? IPv4Reassembler()
        _ = reassembler.expire(now: network.now)
        let outcome = reassembler.add(packet, time: network.now)
        reassembly = reassembler
        return network.reassembled(outcome, buffer, tag, at: point)
    }
}
