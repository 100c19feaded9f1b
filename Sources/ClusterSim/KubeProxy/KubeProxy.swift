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

    /// kube-proxy's rules sit in the nat table's PREROUTING chain (traffic from pods and the VTEP) and
    /// OUTPUT chain (the node's own); they only rewrite, never drop.
    func filter(_ buffer: PacketBuffer, _ tag: inout PacketTag, at hook: NetfilterHook, in node: ClusterNode) -> Bool {
        translate(buffer, at: node, tag)
        return true
    }

    /// The NAT, in place.
    func translate(_ buffer: PacketBuffer, at node: ClusterNode, _ tag: PacketTag) {
        guard let editable = MutableIPv4Frame(buffer.mutableBytes) else { return }
        let frame = editable.frame
        let proto = frame.protocol
        guard proto == .tcp || proto == .udp, frame.hasTransport(4) else { return }
        let key = FlowKey(proto: proto.rawValue, source: frame.source, sourcePort: frame.sourcePort,
                          destination: frame.destination, destinationPort: frame.destinationPort)
        if let original = reverse[key] {
            editable.rewrite(source: original.address, sourcePort: original.port)
            return
        }
        let network = node.network
        guard let service = network.services.service(at: key.destination) else { return }
        let target: Target
        if let existing = forward[key], proto != .udp || network.cluster.pod(at: existing.address) != nil {
            target = existing
        } else {
            guard let port = service.ports.first(where: { $0.port == key.destinationPort && $0.protocol.ipProtocol == proto.rawValue }) else { return }
            let endpoints = network.services.endpoints(of: service, in: network.cluster, at: network.now)
            guard !endpoints.isEmpty else { return }
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
        editable.rewrite(destination: target.address, destinationPort: target.port)
    }
}

extension ServiceProtocol {
    var ipProtocol: UInt8 { self == .tcp ? IPProtocol.tcp.rawValue : IPProtocol.udp.rawValue }
}
