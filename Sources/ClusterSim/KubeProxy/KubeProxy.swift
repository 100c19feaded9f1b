import PacketWire

/// kube-proxy on one node, as its iptables mode behaves on the packet path: a new connection to a
/// ClusterIP and port is DNATed to one ready endpoint (KUBE-SERVICES → KUBE-SVC-* → KUBE-SEP-*, the
/// endpoint chosen at random: here by a hash of the flow, seeded, so runs repeat) and conntrack remembers
/// the choice; replies from the endpoint get the Service's address and port back as their source. For UDP,
/// kube-proxy deletes a removed endpoint's conntrack entries (pkg/proxy/conntrack `CleanStaleEntries`), so
/// the next datagram picks a live endpoint; TCP entries stay until they time out.
final class KubeProxy: PacketFilter {
    struct FlowKey: Hashable {
        var proto: UInt8, source: IPv4Address, sourcePort: UInt16, destination: IPv4Address, destinationPort: UInt16
    }
    struct Target: Hashable { var address: IPv4Address, port: UInt16 }

    /// Conntrack's NAT entries: original direction → endpoint, and the reply direction → the Service.
    private var forward: [FlowKey: Target] = [:]
    private var reverse: [FlowKey: Target] = [:]
    /// Hairpin replies (an endpoint answering itself through the masquerade): the reply direction → the
    /// Service (its new source) and the pod's own address and port (its new destination).
    private var hairpinReverse: [FlowKey: (service: Target, client: Target)] = [:]

    /// kube-proxy's rules sit in the nat table's PREROUTING chain (traffic from pods and the VTEP) and
    /// OUTPUT chain (the node's own); they rewrite, and reject a connection to a Service with no endpoints.
    func filter(_ buffer: PacketBuffer, _ tag: inout PacketTag, at hook: NetfilterHook, in node: ClusterNode) -> Bool {
        translate(buffer, at: node, tag)
    }

    /// The NAT, in place. Returns false when the packet was rejected (and dropped).
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
        guard let editable = MutableIPv4Frame(buffer.mutableBytes) else { return true }
        let frame = editable.frame
        let proto = frame.protocol
        if proto == .icmp {
            translateError(buffer, frame)
            return true
        }
        guard proto == .tcp || proto == .udp, frame.hasTransport(4) else { return true }
        let key = FlowKey(proto: proto.rawValue, source: frame.source, sourcePort: frame.sourcePort,
                          destination: frame.destination, destinationPort: frame.destinationPort)
        if let original = reverse[key] {
            editable.rewrite(source: original.address, sourcePort: original.port)
            return true
        }
        if let hairpin = hairpinReverse[key] {
            editable.rewrite(source: hairpin.service.address, sourcePort: hairpin.service.port,
                             destination: hairpin.client.address, destinationPort: hairpin.client.port)
            return true
        }
        let network = node.network
        guard let service = network.services.service(at: key.destination) else { return true }
        let target: Target
        if let existing = forward[key], proto != .udp || network.cluster.pod(at: existing.address) != nil {
            target = existing
        } else {
            guard let port = service.ports.first(where: { $0.port == key.destinationPort && $0.protocol.ipProtocol == proto.rawValue }) else { return true }
            let endpoints = network.services.endpoints(of: service, in: network.cluster, at: network.now)
            guard !endpoints.isEmpty else {
                let sent = node.sendError(.destinationUnreachable(.portUnreachable, nextHopMTU: 0), about: buffer, tag: tag)
                network.drop(buffer, tag, at: node.routingPoint, DropReason(.serviceHasNoEndpoints,
                    "service \(service.name) (\(service.clusterIP):\(port.port)/\(port.protocol.rawValue)) has no ready endpoints: kube-proxy's REJECT rule"
                    + (sent ? " answers ICMP port unreachable (connection refused)" : "")))
                return false
            }
            var hasher = SplitMix64(seed: network.scenario.seed
                                    ^ (UInt64(key.source.rawValue) << 24 | UInt64(key.sourcePort) << 8 | UInt64(key.proto)))
            let chosen = endpoints[Int(hasher.next() % UInt64(endpoints.count))]
            target = Target(address: network.cluster[chosen].address, port: port.targetPort)
            forward[key] = target
            reverse[FlowKey(proto: key.proto, source: target.address, sourcePort: target.port,
                            destination: key.source, destinationPort: key.sourcePort)] = Target(address: key.destination, port: key.destinationPort)
            if let sender = tag.sender {
                let name = network.cluster[chosen].name
                network.observers.accounting.update(sender: sender) { $0.endpoints[name, default: 0] += 1 }
            }
        }
        if target.address == key.source {
            // Hairpin: masqueraded to cni0's address, keeping the source port (MASQUERADE keeps a free one).
            let masquerade = node.gatewayAddress
            editable.rewrite(source: masquerade, sourcePort: key.sourcePort, destination: target.address, destinationPort: target.port)
            hairpinReverse[FlowKey(proto: key.proto, source: target.address, sourcePort: target.port,
                                   destination: masquerade, destinationPort: key.sourcePort)]
                = (Target(address: key.destination, port: key.destinationPort), Target(address: key.source, port: key.sourcePort))
            return true
        }
        editable.rewrite(destination: target.address, destinationPort: target.port)
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
        guard let service = reverse[reply] else { return }
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
        bytes.setInteger(service.port, at: quotedTransport + 2, as: UInt16.self)
        let l4Checksum = quotedTransport + (quoted.protocol == .tcp ? 16 : 6)
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
