import Kubernetes
import PacketWire

/// NetworkPolicy at one node's FORWARD hook, with the node's connection tracking.
///
/// A packet of a connection the node has already admitted, either way, goes on (`ct state
/// established,related accept`, the first rule of Calico's and Cilium's policy paths): this is how replies of
/// allowed connections get through a pod that is isolated for ingress or egress. Any other packet is a new
/// connection: if its source is a pod on this node, the source's egress policies decide; if its destination
/// is a pod on this node, the destination's ingress policies decide (both, for two pods on one node). The
/// destination is what kube-proxy's DNAT made it (PREROUTING runs first), so a Service's traffic is judged at
/// the endpoint's address and targetPort, as the NetworkPolicy documentation says it is.
///
/// ICMP is not a NetworkPolicy protocol (the API names TCP, UDP and SCTP): it passes. Packets between
/// addresses that are not this node's pods (transit) pass.
final class NetworkPolicyFilter: PacketFilter {
    struct FlowKey: Hashable {
        var proto: UInt8, source: IPv4Address, sourcePort: UInt16, destination: IPv4Address, destinationPort: UInt16

        var reversed: FlowKey {
            FlowKey(proto: proto, source: destination, sourcePort: destinationPort, destination: source, destinationPort: sourcePort)
        }
    }

    unowned(unsafe) let enforcer: NetworkPolicyEnforcer
    unowned(unsafe) let node: ClusterNode
    /// The node's conntrack entries for admitted connections, both directions.
    private var tracked: Set<FlowKey> = []

    init(enforcer: NetworkPolicyEnforcer, node: ClusterNode) {
        self.enforcer = enforcer
        self.node = node
    }

    func filter(_ buffer: PacketBuffer, _ tag: inout PacketTag, at hook: NetfilterHook, in node: ClusterNode) -> Bool {
        guard let frame = IPv4Frame(buffer.readableBytes) else { return true }
        let proto = frame.protocol
        guard let transport = TransportProtocol(ipProtocolNumber: proto.rawValue), frame.hasTransport(4),
              frame.fragmentOffset == 0 else { return true }
        // TCP, UDP and SCTP all begin with the source and destination ports, at the same offsets (RFC 793,
        // RFC 768, RFC 9260 §3.1); UDP's Field table names them. (UDP's view would also check a length field
        // that SCTP does not have there.)
        let ports = frame.transport
        let key = FlowKey(proto: proto.rawValue, source: frame.source,
                          sourcePort: ports.getInteger(at: UDPDatagram.Field.sourcePort.lowerBound, as: UInt16.self),
                          destination: frame.destination,
                          destinationPort: ports.getInteger(at: UDPDatagram.Field.destinationPort.lowerBound, as: UInt16.self))
        if tracked.contains(key) { return true }
        let network = node.network
        let cluster = network.cluster
        let sourcePod = cluster.pod(at: key.source).flatMap { cluster[$0].node == node.id ? $0 : nil }
        let destinationPod = cluster.pod(at: key.destination).flatMap { cluster[$0].node == node.id ? $0 : nil }
        guard sourcePod != nil || destinationPod != nil else { return true }
        let engine = enforcer.currentEngine()
        // A packet that came through Cilium's tunnel is judged as the identity its VNI carries, whatever
        // its inner source address says (bpf/bpf_overlay.c hands the tunnel key's identity to the
        // destination endpoint's ingress policy).
        let source = sourcePod == nil && tag.tunnelIdentity != 0
            ? enforcer.endpoint(forIdentity: tag.tunnelIdentity, address: key.source, engine: engine)
            : engine.endpoint(for: .v4(key.source))
        let connection = PolicyConnection(from: source, to: engine.endpoint(for: .v4(key.destination)),
                                          protocol: transport, port: key.destinationPort)
        if let pod = sourcePod, !engine.admits(connection, .egress) {
            deny(buffer, tag, connection, .egress, pod: cluster[pod].name, engine: engine)
            return false
        }
        if let pod = destinationPod, !engine.admits(connection, .ingress) {
            deny(buffer, tag, connection, .ingress, pod: cluster[pod].name, engine: engine)
            return false
        }
        track(key, to: destinationPod)
        if network.observers.isExplained(tag) || tag.sender != nil && tag.role == .toServer {
            let decision = engine.decide(connection)
            let words = [sourcePod != nil ? decision.egress.sentence : nil, destinationPod != nil ? decision.ingress.sentence : nil]
                .compactMap { $0 }.joined(separator: "; ")
            let way: NetworkPolicy.PolicyType = sourcePod != nil ? .egress : .ingress
            let name = cluster[sourcePod ?? destinationPod ?? PodID(0)].name
            network.observers.trace(tag, enforcer.place(way, pod: name, node: node), "allowed: \(words)", time: network.now)
            enforcer.recordAdmission(words, tag: tag)
        }
        return true
    }

    /// Remembers an admitted connection: its two directions, and for a pod that is a Service's endpoint, the
    /// reply as the client's node sees it after kube-proxy's reverse NAT (source the ClusterIP and port):
    /// conntrack holds one entry for both tuples.
    private func track(_ key: FlowKey, to destinationPod: PodID?) {
        tracked.insert(key)
        tracked.insert(key.reversed)
        let network = node.network
        guard let pod = network.cluster.pod(at: key.destination) else { return }
        let labels = network.cluster[pod].labels
        for service in network.services.services where service.selector.matches(labels) {
            for port in service.ports where port.targetPort == key.destinationPort && port.protocol.ipProtocol == key.proto {
                tracked.insert(FlowKey(proto: key.proto, source: service.clusterIP, sourcePort: port.port,
                                       destination: key.source, destinationPort: key.sourcePort))
            }
        }
    }

    private func deny(_ buffer: PacketBuffer, _ tag: PacketTag, _ connection: PolicyConnection,
                      _ direction: NetworkPolicy.PolicyType, pod: String, engine: PolicyEngine) {
        let decision = engine.decide(connection)
        let verdict = direction == .egress ? decision.egress : decision.ingress
        var policies: [String] = []
        var rules: [String] = []
        if case .denied(let refusals) = verdict.outcome {
            for refusal in refusals {
                policies.append(refusal.policy.qualifiedName)
                for miss in refusal.misses {
                    let what = switch (miss.peerMatches, miss.portMatches) {
                    case (false, true): "peer"
                    case (true, false): "port"
                    default: "peer and port"
                    }
                    rules.append("\(refusal.policy.qualifiedName) \(direction == .ingress ? "ingress" : "egress") rule \(miss.ruleNumber) (\(what))")
                }
            }
        }
        let head = "\(decision.connection.source) → \(decision.connection.destination) \(connection.protocol) \(connection.port): "
        let sentence = head + verdict.sentence
        let place = enforcer.place(direction, pod: pod, node: node)
        enforcer.recordDenial(PolicyDenial(place: place, direction: direction, policies: policies, rules: rules, sentence: sentence), tag: tag)
        node.network.drop(buffer, tag, at: place, DropReason(.policyDenied, sentence))
    }
}
