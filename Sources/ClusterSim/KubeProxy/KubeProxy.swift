import Firewall
import PacketWire

/// kube-proxy on one node, as its iptables mode behaves on the packet path: a new connection to a
/// ClusterIP and port is DNATed to one ready endpoint (KUBE-SERVICES → KUBE-SVC-* → KUBE-SEP-*, the
/// endpoint chosen at random: here by a hash of the flow, seeded, so runs repeat) and conntrack remembers
/// the choice; replies from the endpoint get the Service's address and port back as their source. For UDP,
/// kube-proxy deletes a removed endpoint's conntrack entries (pkg/proxy/conntrack `CleanStaleEntries`), so
/// the next datagram picks a live endpoint; TCP entries stay until they time out.
///
/// The NAT itself is the Firewall module's ``NATTable`` (conntrack's NAT entries as `nf_nat` keeps them),
/// the same machinery as the `nat` middlebox: one NAT in the project. kube-proxy's entries never expire
/// here, as a connection's life in the simulated runs is shorter than conntrack's established timeout.
final class KubeProxy: PacketFilter {
    /// The node's conntrack NAT entries (original tuple → the endpoint; reply tuple → the Service).
    private var conntrack = NATTable(capacity: .max, expiry: .never)
    /// Every endpoint address an entry was made for: only packets from these can be replies to restore.
    /// A superset once an entry is removed, which only costs a table lookup.
    private var endpointAddresses = IPv4AddressTable<Void>()
    struct FlowKey: Hashable {
        var proto: UInt8, source: IPv4Address, sourcePort: UInt16, destination: IPv4Address, destinationPort: UInt16
    }
    struct Target: Hashable { var address: IPv4Address, port: UInt16 }
    /// The Service each translated connection's reply tuple belongs to, for ICMP errors about it.
    private var serviceOfReply: [FlowKey: Target] = [:]
    /// Hairpin replies (an endpoint answering itself through the masquerade): the reply direction → the
    /// Service (its new source) and the pod's own address and port (its new destination).
    private var hairpinReverse: [FlowKey: (service: Target, client: Target)] = [:]

    /// kube-proxy's rules sit in the nat table's PREROUTING chain (traffic from pods and the VTEP) and
    /// OUTPUT chain (the node's own); they rewrite, and reject a connection to a Service with no endpoints.
    func filter(_ buffer: PacketBuffer, _ tag: inout PacketTag, at hook: NetfilterHook, in node: ClusterNode) -> Bool {
        translate(buffer, at: node, tag)
    }

    /// The NAT, in place: replies restored to the Service, known flows to their endpoint, a new flow to a
    /// ClusterIP and port to an endpoint chosen now. Returns false when the packet was rejected (and dropped).
    ///
    /// - A Service port with no ready endpoints: kube-proxy's filter rule `KUBE-SERVICES ... has no
    ///   endpoints -j REJECT` (pkg/proxy/iptables/proxier.go, `--reject-with icmp-port-unreachable`, the
    ///   default of net/ipv4/netfilter/ipt_REJECT.c): ICMP port unreachable at once, which the pod's socket
    ///   matches by its quote (the ClusterIP) and reports as "connection refused".
    /// - A pod reaching itself through its Service (hairpin): the endpoint chain `KUBE-SEP-*` marks a
    ///   packet from the endpoint's own address for masquerade (`-s <endpoint> -j KUBE-MARK-MASQ`), so it
    ///   arrives from the node's cni0 address, and the reply comes back through the node.
    @discardableResult
    func translate(_ buffer: PacketBuffer, at node: ClusterNode, _ tag: PacketTag) -> Bool {
        let services = node.services, cluster = node.cluster
        guard let frame = IPv4Frame(buffer.readableBytes) else { return true }
        if frame.protocol == .icmp {
            if !serviceOfReply.isEmpty { translateError(buffer, frame) }
            return true
        }
        // Most packets are neither to a ClusterIP nor from an endpoint that has an entry: they pass with
        // one address lookup each, as iptables' KUBE-SERVICES match on the destination does, instead of two
        // conntrack tuple lookups.
        guard services.isServiceAddress(frame.destination) || endpointAddresses.contains(frame.source) else { return true }
        let proto = frame.protocol
        let key = FlowKey(proto: proto.rawValue, source: frame.source, sourcePort: frame.sourcePort,
                          destination: frame.destination, destinationPort: frame.destinationPort)
        if !hairpinReverse.isEmpty, let hairpin = hairpinReverse[key], let editable = MutableIPv4Frame(buffer.mutableBytes) {
            editable.rewrite(source: hairpin.service.address, sourcePort: hairpin.service.port,
                             destination: hairpin.client.address, destinationPort: hairpin.client.port)
            return true
        }
        var rejectPort: ServicePortSpec?
        var rejectService: ServiceSpec?
        _ = conntrack.translateDestination(buffer.mutableBytes, now: node.scheduler.now, keep: { entry in
            // A UDP entry whose endpoint is gone was deleted by kube-proxy: the datagram picks anew.
            guard entry.original.protocol == .udp, let endpoint = entry.destination.address.ipv4 else { return true }
            return cluster.pod(at: endpoint) != nil
        }, choose: { flow in
            guard flow.protocol == .tcp || flow.protocol == .udp, let destination = flow.destination.ipv4,
                  let source = flow.source.ipv4,
                  let service = services.service(at: destination),
                  let port = service.ports.first(where: { $0.port == flow.destinationPort && $0.protocol.ipProtocol == flow.protocol.rawValue })
            else { return nil }
            let endpoints = services.endpoints(of: service, in: cluster, at: node.scheduler.now)
            guard !endpoints.isEmpty else {
                rejectPort = port
                rejectService = service
                return nil
            }
            var hasher = SplitMix64(seed: node.settings.seed
                                    ^ (UInt64(source.rawValue) << 24 | UInt64(flow.sourcePort) << 8 | UInt64(flow.protocol.rawValue)))
            let chosen = endpoints[Int(hasher.next() % UInt64(endpoints.count))]
            if let sender = tag.sender {
                let name = cluster[chosen].name
                node.observers.accounting.update(sender: sender) { $0.endpoints[name, default: 0] += 1 }
            }
            let endpoint = cluster[chosen].address
            endpointAddresses[endpoint] = ()
            serviceOfReply[FlowKey(proto: flow.protocol.rawValue, source: endpoint, sourcePort: port.targetPort,
                                   destination: source, destinationPort: flow.sourcePort)] = Target(address: destination, port: port.port)
            return NATTarget(address: .v4(endpoint), port: port.targetPort)
        })
        if let port = rejectPort, let service = rejectService {
            let sent = node.sendError(.destinationUnreachable(.portUnreachable, nextHopMTU: 0), about: buffer, tag: tag)
            node.network.drop(buffer, tag, at: node.routingPoint, DropReason(.serviceHasNoEndpoints,
                "service \(service.name) (\(service.clusterIP):\(port.port)/\(port.protocol.rawValue)) has no ready endpoints: kube-proxy's REJECT rule"
                + (sent ? " answers ICMP port unreachable (connection refused)" : "")))
            return false
        }
        // Hairpin: a connection DNATed to its own sender is masqueraded to cni0's address, keeping the
        // source port (MASQUERADE keeps a free one).
        if let translated = MutableIPv4Frame(buffer.mutableBytes), translated.frame.destination == key.source,
           services.isServiceAddress(key.destination) {
            let masquerade = node.gatewayAddress
            let targetPort = translated.frame.destinationPort
            translated.rewrite(source: masquerade, sourcePort: key.sourcePort)
            hairpinReverse[FlowKey(proto: key.proto, source: key.source, sourcePort: targetPort,
                                   destination: masquerade, destinationPort: key.sourcePort)]
                = (Target(address: key.destination, port: key.destinationPort), Target(address: key.source, port: key.sourcePort))
        }
        return true
    }
}

extension KubeProxy {
    /// An ICMP error about a connection kube-proxy translated, on its way back to the client: conntrack
    /// relates it to the connection and undoes the NAT inside and out (net/netfilter/nf_nat_proto.c
    /// `nf_nat_icmp_reply_translation`): the quoted destination becomes the ClusterIP and the Service port
    /// again (with the quoted IP and transport checksums updated, `nf_nat_ipv4_manip_pkt`), the error's
    /// own source becomes the ClusterIP, and the ICMP checksum is computed afresh. The pod's socket then
    /// matches the quote to the connection it opened.
    func translateError(_ buffer: PacketBuffer, _ frame: IPv4Frame) {
        let type = frame.icmpType
        guard type == 3 || type == 11 || type == 12, let quoted = IPv4Frame.quoted(frame.icmpQuote),
              quoted.protocol == .tcp || quoted.protocol == .udp,
              let ports = quoted.ip.ports else { return }
        let reply = FlowKey(proto: quoted.protocol.rawValue, source: quoted.destination, sourcePort: ports.destination,
                            destination: quoted.source, destinationPort: ports.source)
        guard let service = serviceOfReply[reply] else { return }
        let bytes = buffer.mutableBytes
        let ipStart = IPv4Frame.ethernetHeaderLength
        let icmpStart = ipStart + frame.headerLength
        let quoteStart = icmpStart + ICMPv4Message.headerLength
        guard let quotedHeaderLength = quoted.ip.headerLength else { return }
        let quotedTransport = quoteStart + quotedHeaderLength
        let available = bytes.count - quotedTransport
        // The quoted IP header: destination address and its checksum (RFC 1624).
        let destinationOffset = quoteStart + IPv4Packet.Field.destination.lowerBound
        let checksumOffset = quoteStart + IPv4Packet.Field.checksum.lowerBound
        let oldChecksum = bytes.getInteger(at: checksumOffset, as: UInt16.self)
        bytes.setInteger(InternetChecksum.updated(oldChecksum, replacing: quoted.destination, with: service.address), at: checksumOffset, as: UInt16.self)
        service.address.write(into: bytes, at: destinationOffset)
        // The quoted destination port, and the quoted transport checksum when the quote holds it.
        bytes.setInteger(service.port, at: quotedTransport + UDPDatagram.Field.destinationPort.lowerBound, as: UInt16.self)
        let l4Checksum = quotedTransport + (quoted.protocol == .tcp ? TCPSegment.Field.checksum.lowerBound : UDPDatagram.Field.checksum.lowerBound)
        if available >= l4Checksum - quotedTransport + 2 {
            var sum = bytes.getInteger(at: l4Checksum, as: UInt16.self)
            if !(quoted.protocol == .udp && sum == 0) {
                sum = InternetChecksum.updated(sum, replacing: quoted.destination, with: service.address)
                sum = InternetChecksum.updated(sum, replacing: ports.destination, with: service.port)
                bytes.setInteger(sum, at: l4Checksum, as: UInt16.self)
            }
        }
        // The error's source becomes the ClusterIP, as if the Service had answered.
        if let outer = MutableIPv4Frame(bytes) { _ = outer.ip.rewriteSource(service.address) }
        if let icmp = try? MutableICMPv4Message(checking: bytes.slice(icmpStart..<bytes.count), frameOffset: icmpStart) {
            icmp.fillChecksum()
        }
    }
}

extension ServiceProtocol {
    var ipProtocol: UInt8 { self == .tcp ? IPProtocol.tcp.rawValue : IPProtocol.udp.rawValue }
}
