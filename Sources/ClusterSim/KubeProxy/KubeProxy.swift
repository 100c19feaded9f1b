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
    private var endpointAddresses: Set<IPv4Address> = []

    /// kube-proxy's rules sit in the nat table's PREROUTING chain (traffic from pods and the VTEP) and
    /// OUTPUT chain (the node's own); they only rewrite, never drop.
    func filter(_ buffer: PacketBuffer, _ tag: inout PacketTag, at hook: NetfilterHook, in node: ClusterNode) -> Bool {
        translate(buffer, at: node, tag)
        return true
    }

    /// The NAT, in place: replies restored to the Service, known flows to their endpoint, a new flow to a
    /// ClusterIP and port to an endpoint chosen now.
    func translate(_ buffer: PacketBuffer, at node: ClusterNode, _ tag: PacketTag) {
        let network = node.network
        // Most packets are neither to a ClusterIP nor from an endpoint that has an entry: they pass with
        // one address lookup each, as iptables' KUBE-SERVICES match on the destination does, instead of two
        // conntrack tuple lookups.
        guard let frame = IPv4Frame(buffer.readableBytes),
              network.services.isServiceAddress(frame.destination) || endpointAddresses.contains(frame.source)
        else { return }
        _ = conntrack.translateDestination(buffer.mutableBytes, now: network.now, keep: { entry in
            // A UDP entry whose endpoint is gone was deleted by kube-proxy: the datagram picks anew.
            guard entry.original.protocol == .udp, let endpoint = entry.destination.address.ipv4 else { return true }
            return network.cluster.pod(at: endpoint) != nil
        }, choose: { flow in
            guard flow.protocol == .tcp || flow.protocol == .udp, let destination = flow.destination.ipv4,
                  let source = flow.source.ipv4,
                  let service = network.services.service(at: destination),
                  let port = service.ports.first(where: { $0.port == flow.destinationPort && $0.protocol.ipProtocol == flow.protocol.rawValue })
            else { return nil }
            let endpoints = network.services.endpoints(of: service, in: network.cluster, at: network.now)
            guard !endpoints.isEmpty else { return nil }
            var hasher = SplitMix64(seed: network.scenario.seed
                                    ^ (UInt64(source.rawValue) << 24 | UInt64(flow.sourcePort) << 8 | UInt64(flow.protocol.rawValue)))
            let chosen = endpoints[Int(hasher.next() % UInt64(endpoints.count))]
            if let sender = tag.sender {
                let name = network.cluster[chosen].name
                network.observers.accounting.update(sender: sender) { $0.endpoints[name, default: 0] += 1 }
            }
            let endpoint = network.cluster[chosen].address
            endpointAddresses.insert(endpoint)
            return NATTarget(address: .v4(endpoint), port: port.targetPort)
        })
    }
}

extension ServiceProtocol {
    var ipProtocol: UInt8 { self == .tcp ? IPProtocol.tcp.rawValue : IPProtocol.udp.rawValue }
}
