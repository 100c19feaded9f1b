import PacketWire

/// A pod's network stack: its eth0 (one end of a veth whose other end is on the node's `cni0` bridge), IP
/// with reassembly, and the sockets, found by address and port as the kernel's socket lookup finds them:
/// TCP connections the pod opened, TCP connections it accepted, the listening sockets, the UDP sockets
/// of its senders, and the ICMP echo responder every Linux host has.
///
/// The pod listens on its workload's `ports:` when the scenario gives them; without them on every port
/// (like the upstream tests' agnhost servers). A TCP SYN to any other port is answered with RST
/// (net/ipv4/tcp_ipv4.c `tcp_v4_rcv` → `tcp_v4_send_reset`) and a UDP datagram with ICMP port
/// unreachable (net/ipv4/udp.c `__udp4_lib_rcv` → `icmp_send`): "connection refused".
final class PodStack {
    let pod: PodID
    let name: String
    let address: IPv4Address
    let mac: MACAddress
    /// The node's `cni0` MAC: the next hop of everything the pod sends.
    let gatewayMAC: MACAddress
    /// The interface MTU (the overlay's pod MTU).
    let mtu: Int
    /// The pod's node (held strongly: nothing the node holds leads back to its pods).
    let node: ClusterNode
    // The network owns this part and outlives it; the packet path reaches the parts it needs directly
    // (an `unowned(unsafe)` reference is retained and released at each use: see `Unretained`).
    unowned(unsafe) let network: Network
    let observers: Observers
    let scheduler: Scheduler
    let pool: BufferPool
    /// `net.ipv4.ip_default_ttl`.
    let defaultTTL: UInt8
    /// What the pod's TCP sockets take from the sysctls and the MTU.
    let tcpSettings: TCPSocketSettings
    /// The namespace's random values, from the scenario's seed.
    let secrets: SocketSecrets
    /// The ports with a listening socket; nil when the workload gives none (every port listens).
    private let listening: Set<ListeningPort>?
    /// The namespace's ICMP sender (`icmp_send`: quotes, rate limits, per-destination identification),
    /// also the source of IP IDs for packets no connected socket sends (`__ip_select_ident`).
    private var icmp: ICMPErrorSender
    /// The IP layer's reassembly, made when the pod first receives a fragment.
    private var reassembly: HostReassembly?
    /// Connections this pod opened, by local port, remote address and remote port.
    private var clients: [ConnectionKey: Sender] = [:]
    /// Which of them uses each local port (an ICMP error names only the local end it quotes).
    private var clientsByPort: [UInt16: Sender] = [:]
    /// The UDP senders' connected sockets, by local port.
    private var datagramSockets: [UInt16: Sender] = [:]
    /// Connections this pod accepted.
    private var accepted: [ConnectionKey: AcceptedSocket] = [:]
    /// The path MTU the pod's routes learned from ICMP fragmentation needed, per destination (a route
    /// exception in the pod's namespace, shared by all its sockets: net/ipv4/route.c `__ip_rt_update_pmtu`).
    private var learnedPathMTU: [IPv4Address: Int] = [:]

    /// What the pod's route toward `destination` allows: the interface MTU, or less once learned.
    /// (With nothing learned, the usual case, it answers without hashing the address.)
    func pathMTU(toward destination: IPv4Address) -> Int {
        learnedPathMTU.isEmpty ? mtu : min(mtu, learnedPathMTU[destination] ?? mtu)
    }

    /// The settings a socket connecting to `destination` starts from: its route's MTU, a learned path MTU
    /// included, sets the SYN's MSS and the MSS of what it sends. net/ipv4/tcp_output.c `tcp_connect_init`
    /// takes `advmss` from `dst_metric_advmss` (net/ipv4/route.c `ipv4_default_advmss`: `ipv4_mtu(dst)`,
    /// which reads the route exception's PMTU, less 40, at least `ip_rt_min_advmss` 256) and sizes
    /// `mss_cache` with `tcp_sync_mss(sk, dst_mtu(dst))`.
    func tcpSettings(toward destination: IPv4Address) -> TCPSocketSettings {
        var settings = tcpSettings
        let routeMSS = max(256, pathMTU(toward: destination) - IPv4Packet.minimumHeaderLength - TCPSegment.minimumHeaderLength)
        settings.advertisedMSS = min(settings.advertisedMSS, routeMSS)
        return settings
    }

    struct ConnectionKey: Hashable {
        var localPort: UInt16
        var remoteAddress: IPv4Address
        var remotePort: UInt16
    }

    struct ListeningPort: Hashable {
        var port: UInt16
        var `protocol`: IPProtocol
    }

    /// A socket `accept()` returned: the connection, its `inet_id` and its flow hash.
    private struct AcceptedSocket {
        var connection: TCPServerConnection
        var identification: UInt16
        var flowHash: UInt32
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
        observers = network.observers
        scheduler = network.scheduler
        pool = network.pool
        defaultTTL = network.settings.defaultTTL
        let sysctls = network.scenario.sysctls
        tcpSettings = TCPSocketSettings(sysctls: sysctls, mtu: mtu)
        let seed = network.scenario.seed ^ stableHash("pod " + pod.name)
        secrets = SocketSecrets(seed: seed)
        icmp = ICMPErrorSender(seed: seed, sysctls: sysctls)
        let ports = network.cluster.workloads.first { $0.name == pod.workload }?.ports ?? []
        listening = ports.isEmpty ? nil : Set(ports.map {
            ListeningPort(port: $0.port, protocol: $0.protocol == .udp ? .udp : .tcp)
        })
    }

    /// Whether a socket listens on `port` (TCP) or is bound to it (UDP).
    func listens(on port: UInt16, _ proto: IPProtocol) -> Bool {
        listening?.contains(ListeningPort(port: port, protocol: proto)) ?? true
    }

    /// Ethernet and IPv4 addressing for a packet this pod sends.
    func addressing(to destination: IPv4Address, dontFragment: Bool, identification: UInt16) -> PodPackets.Addressing {
        PodPackets.Addressing(sourceMAC: mac, destinationMAC: gatewayMAC, source: address, destination: destination,
                              timeToLive: defaultTTL,
                              dontFragment: dontFragment, identification: identification)
    }

    /// The identification of a packet no connected socket sends (`ip_select_ident_segs` →
    /// `__ip_select_ident`: a counter per destination).
    func unconnectedIdentification(toward destination: IPv4Address) -> UInt16 {
        icmp.nextIdentification(toward: destination)
    }

    func registerClient(_ sender: Sender) {
        guard let connection = sender.connection else { return }
        let key = ConnectionKey(localPort: connection.localPort, remoteAddress: connection.remoteAddress, remotePort: connection.remotePort)
        clients[key] = sender
        clientsByPort[connection.localPort] = sender
    }

    func registerDatagramSocket(_ sender: Sender) {
        datagramSockets[sender.sourcePort] = sender
    }

    // MARK: - Sending

    /// The pod puts a frame on its eth0: the capture, then the veth to the node.
    func send(_ buffer: PacketBuffer, _ tag: PacketTag) {
        scheduler.noteActivity()
        observers.transmitted(buffer.readableBytes, at: .pod(pod), tag: tag, time: scheduler.now)
        observers.trace(tag, "pod \(name)", "sends \(network.describe(buffer.readableBytes)) (\(buffer.count) bytes)", time: scheduler.now)
        node.route(buffer, tag)
    }

    /// Whether a datagram of `ipLength` bytes leaves with DF under `dontFragment` (nil: the kernel's
    /// IP_PMTUDISC_WANT, DF when it fits the MTU; `ip_dont_fragment` and `__ip_make_skb`).
    func datagramDontFragment(ipLength: Int, _ dontFragment: Bool?) -> Bool {
        dontFragment ?? (ipLength <= mtu)
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
        observers.transmitted(arrived.readableBytes, at: .pod(pod), tag: tag, time: scheduler.now)
        var buffer = arrived
        if IPv4Frame(arrived.readableBytes)?.isFragment == true {
            guard let whole = reassemble(arrived, tag) else { return }
            buffer = whole
        }
        let bytes = buffer.readableBytes
        observers.trace(tag, "pod \(name)", "receives \(network.describe(bytes))", time: scheduler.now)
        guard let frame = IPv4Frame(bytes) else {
            observers.delivered(bytes, to: pod, tag: tag, time: scheduler.now)
            pool.release(buffer)
            return
        }
        switch frame.protocol {
        case .udp where !listens(on: frame.destinationPort, .udp):
            refuseDatagram(buffer, frame, tag)
            return
        case .tcp where frame.hasTransport(TCPSegment.minimumHeaderLength) && !isOpen(frame):
            refuseSegment(buffer, frame, tag)
            return
        default:
            break
        }
        defer { pool.release(buffer) }
        observers.delivered(bytes, to: pod, tag: tag, time: scheduler.now)
        switch frame.protocol {
        case .icmp:
            receiveICMP(frame, tag)
        case .tcp:
            receiveTCP(frame, tag)
        default:
            // UDP to a bound port: the datagram is the application's; nothing answers it.
            break
        }
    }

    /// Whether a TCP segment finds a socket: a connection of this pod's, or a listener for its port.
    /// (The ports come from the TCP view: `IPv4Frame.sourcePort` reads them as UDP's, which refuses a
    /// segment whose sequence number reads as a UDP length below 8.)
    private func isOpen(_ frame: IPv4Frame) -> Bool {
        let segment = TCPSegmentFields(frame)
        let key = ConnectionKey(localPort: segment.destinationPort, remoteAddress: frame.source, remotePort: segment.sourcePort)
        return clients[key] != nil || accepted[key] != nil || listens(on: segment.destinationPort, .tcp)
    }

    /// A UDP datagram for a port no socket is bound to: ICMP port unreachable (`__udp4_lib_rcv` →
    /// `icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0)`, as `__icmp_send` builds it).
    private func refuseDatagram(_ buffer: PacketBuffer, _ frame: IPv4Frame, _ tag: PacketTag) {
        let port = frame.destinationPort
        let error = pool.take()
        if icmp.build(error, .destinationUnreachable(.portUnreachable, nextHopMTU: 0), about: frame.packet,
                      from: address, sourceMAC: mac, nextHopMAC: gatewayMAC, now: scheduler.now) {
            send(error, tag.reversed)
        } else {
            pool.release(error)
        }
        network.drop(buffer, tag, at: "pod \(name)", DropReason(.connectionRefused,
            "nothing listens on UDP port \(port) of \(name): ICMP port unreachable to the sender, whose connected socket's next send() fails with ECONNREFUSED (connection refused)"))
    }

    /// A TCP segment no socket takes: RST (`tcp_v4_send_reset`: to a segment with ACK, seq = its ack;
    /// otherwise seq 0 and ack = its seq + its length, SYN and FIN counting one; window 0, no options;
    /// sent from the namespace's control socket, DF set and IP ID 0, as measured). An RST gets none.
    private func refuseSegment(_ buffer: PacketBuffer, _ frame: IPv4Frame, _ tag: PacketTag) {
        let segment = TCPSegmentFields(frame)
        if !segment.flags.contains(.rst) {
            var reset = TCPSegmentHeader(sourcePort: segment.destinationPort, destinationPort: segment.sourcePort,
                                         sequenceNumber: 0, flags: .rst, window: 0)
            if segment.flags.contains(.ack) {
                reset.sequenceNumber = segment.acknowledgment
            } else {
                reset.flags = [.rst, .ack]
                reset.acknowledgmentNumber = segment.sequence &+ UInt32(segment.payloadLength)
                    &+ (segment.flags.contains(.syn) ? 1 : 0) &+ (segment.flags.contains(.fin) ? 1 : 0)
            }
            let reply = pool.take()
            PodPackets.tcp(reply, addressing(to: frame.source, dontFragment: true, identification: 0), header: reset)
            send(reply, tag.reversed)
        }
        network.drop(buffer, tag, at: "pod \(name)", DropReason(.connectionRefused,
            "nothing listens on TCP port \(segment.destinationPort) of \(name): answered with RST, connect() fails with ECONNREFUSED (connection refused)"))
    }

    private func receiveICMP(_ frame: IPv4Frame, _ tag: PacketTag) {
        switch frame.icmpType {
        case 3, 11:
            // An error about a packet this pod sent: the socket is found by the quoted packet's ports
            // (`icmp_unreach` → the protocol's err_handler, `tcp_v4_err`, `udp_err`).
            guard let quoted = IPv4Frame.quoted(frame.icmpQuote), quoted.source == address else { return }
            let type = frame.icmpType, code = frame.icmpCode
            // Every socket's error handler (tcp_v4_err, udp_err, ping_err) updates the route's PMTU
            // (`ipv4_sk_update_pmtu`); a value below 552 is raised to `min_pmtu` (552).
            if type == 3 && code == 4 {
                let mtu = frame.icmpNextHopMTU
                if mtu >= 68 { learnedPathMTU[quoted.destination] = max(552, min(mtu, pathMTU(toward: quoted.destination))) }
            }
            switch quoted.protocol {
            case .tcp:
                guard let sender = clientsByPort[quoted.sourcePort] else { return }
                if type == 3 && code == 4 {
                    sender.pathMTUReduced(to: frame.icmpNextHopMTU)
                } else {
                    let sequence = (try? PartialTCPSegment(quoted.ip.payload))?.sequenceNumber ?? 0
                    sender.unreachable(type: type, code: code, sequence: sequence, tag: tag)
                }
            case .udp:
                // udp_err → __udp4_lib_err: a connected socket keeps the error for the next call
                // (port unreachable: ECONNREFUSED), so the application hears "connection refused".
                guard type == 3, code != 4, let sender = datagramSockets[quoted.sourcePort] else { return }
                sender.datagramError(type: type, code: code, tag: tag)
            default:
                break
            }
        case 8:
            // Echo request: the kernel answers (net/ipv4/icmp.c `icmp_echo` → `icmp_reply`) with the same
            // identifier, sequence number and data, from its ICMP socket (IP_PMTUDISC_DONT: DF clear).
            let requester = frame.source
            let reply = pool.take()
            PodPackets.echo(reply, addressing(to: requester, dontFragment: false,
                                              identification: unconnectedIdentification(toward: requester)),
                            reply: true, identifier: frame.icmpIdentifier, sequence: frame.icmpSequence,
                            payload: frame.icmpPayloadLength)
            send(reply, PacketTag(sender: tag.sender, role: .toClient, sentAt: scheduler.now, isData: false))
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
        var socket: AcceptedSocket
        if let existing = accepted[key] {
            socket = existing
        } else {
            // A SYN for a listening port: the request socket's ISN and timestamp offset
            // (`tcp_conn_request`), and the socket accept() will return (`tcp_v4_syn_recv_sock`).
            guard segment.flags.contains(.syn), !segment.flags.contains(.ack) else { return }
            let connection = TCPServerConnection(
                localPort: segment.destinationPort, remoteAddress: frame.source, remotePort: segment.sourcePort,
                initialSequence: secrets.initialSequence(source: address, destination: frame.source,
                                                         sourcePort: segment.destinationPort, destinationPort: segment.sourcePort,
                                                         now: scheduler.now),
                timestampOffset: secrets.timestampOffset(source: address, destination: frame.source), settings: tcpSettings)
            socket = AcceptedSocket(
                connection: connection,
                identification: secrets.identification(source: address, destination: frame.source,
                                                       sourcePort: segment.destinationPort, destinationPort: segment.sourcePort),
                flowHash: secrets.flowHash(source: address, destination: frame.source, sourcePort: segment.destinationPort,
                                           destinationPort: segment.sourcePort, generation: 0))
        }
        let reply = socket.connection.handle(segment, now: scheduler.now)
        guard let reply else {
            accepted[key] = socket
            return
        }
        // The SYN-ACK leaves from the request socket (`ip_build_and_send_pkt`: DF, IP ID 0); later
        // segments from the accepted socket's counter.
        var identification: UInt16 = 0
        if !reply.flags.contains(.syn) {
            identification = socket.identification
            socket.identification &+= 1
        }
        accepted[key] = socket
        let buffer = pool.take()
        PodPackets.tcp(buffer, addressing(to: frame.source, dontFragment: true, identification: identification), header: reply)
        var replyTag = PacketTag(sender: tag.sender, role: .toClient, sentAt: scheduler.now, isData: false)
        // The request socket's hash, which the accepted socket inherits (`tcp_create_openreq_child`).
        replyTag.socketHash = socket.flowHash
        send(buffer, replyTag)
    }

    /// The pod's IP layer puts fragments back together before its sockets see the datagram.
    private func reassemble(_ buffer: PacketBuffer, _ tag: PacketTag) -> PacketBuffer? {
        let point = "\(name) IP reassembly"
        guard let packet = try? IPv4Packet(checking: buffer.readableBytes.dropFirst(count: IPv4Frame.ethernetHeaderLength),
                                           frameOffset: IPv4Frame.ethernetHeaderLength) else {
            network.drop(buffer, tag, at: point, DropReason(.malformed, "malformed fragment")); return nil
        }
        expireReassembly()
        var reassembler = reassembly ?? HostReassembly(timeout: network.scenario.sysctls.ipFragmentTime)
        let (outcome, started) = reassembler.add(packet, frame: buffer.readableBytes, tag: tag, now: scheduler.now)
        reassembly = reassembler
        if started { network.scheduler.schedule(after: reassembler.timeout, .reassemblyTimeout(.pod(pod))) }
        return network.reassembled(outcome, buffer, tag, at: point)
    }

    /// The reassembly timer (net/ipv4/ip_fragment.c `ip_expire`): a datagram still incomplete
    /// `ipfrag_time` after its first fragment is lost and charged to its flow once; when its fragment at
    /// offset 0 had arrived (`INET_FRAG_FIRST_IN`), the pod answers ICMP time exceeded, fragment
    /// reassembly (type 11 code 1) quoting it, as `icmp_send` builds every error (576 bytes, TOS 0xc0).
    func expireReassembly() {
        guard var reassembler = reassembly else { return }
        let timedOut = reassembler.expire(now: network.now)
        reassembly = reassembler
        let point = "\(name) IP reassembly"
        for item in timedOut {
            var answered: IPv4Address?
            if let first = item.expired.firstFragment {
                let error = network.pool.take()
                let built = first.withUnsafeBytes { quote in
                    icmp.build(error, .timeExceeded(.fragmentReassemblyTimeExceeded), about: quote, from: address,
                               sourceMAC: mac, nextHopMAC: gatewayMAC, now: network.now)
                }
                if built {
                    answered = item.expired.key.source
                    send(error, item.tag.reversed)
                } else {
                    network.pool.release(error)
                }
            }
            item.frame.withUnsafeBytes { bytes in
                network.observers.dropped(bytes, tag: item.tag, at: point, reason: DropReason(.reassemblyTimedOut,
                    item.sentence(icmpSentTo: answered, timeout: reassembler.timeout)), time: network.now)
            }
        }
    }
}
