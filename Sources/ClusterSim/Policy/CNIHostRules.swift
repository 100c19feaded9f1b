import Kubernetes
import PacketWire

/// The rules a CNI's agent installs on every node besides NetworkPolicy, as filters at the node's hooks.
///
/// Calico (felix, `rules/static.go`):
/// - INPUT (`cali-INPUT`): VXLAN to felix's port is accepted only from the addresses in the `all-vxlan-net`
///   ipset (the tunnel-parent addresses of the nodes Calico knows, from their `projectcalico.org/IPv4Address`);
///   any other VXLAN to that port is dropped;
/// - FORWARD, from a workload (`cali-from-wl-dispatch`): a pod's own packets to the VXLAN port are dropped
///   ("Drop VXLAN encapped packets originating in workloads"), so a pod cannot inject frames into the overlay;
/// - CrossSubnet (IPPool `vxlanMode: CrossSubnet`): the route to a node on the same subnet is through eth0, not
///   `vxlan.calico`, so pod packets cross the underlay unencapsulated, pod addresses outside. A cloud's
///   source/destination check (AWS's on an ENI) then drops them (projectcalico/calico#9138): the sender's
///   interface refuses a source that is not its own address, the receiver's a destination not its own.
///
/// Cilium: a pod's packets to the tunnel port are dropped at its endpoint, as issue 11 asks (the check in
/// Cilium's `bpf_lxc` is not verified against Cilium's source here).
final class CNIHostRules: PacketFilter {
    let cni: CNIMode
    let port: UInt16
    /// Calico's `all-vxlan-net`; nil for Cilium (which does not filter the underlay this way).
    let allowlist: Set<IPAddress>?
    unowned(unsafe) let node: ClusterNode
    /// Subnet of each node, for CrossSubnet (nil: not CrossSubnet).
    let subnets: [NodeID: Kubernetes.CIDR]?
    let sourceDestinationCheck: Bool

    init(node: ClusterNode, scenario: Scenario) {
        self.node = node
        cni = scenario.cni
        port = scenario.overlay.destinationPort
        if scenario.cni == .calicoVXLAN {
            allowlist = Set(scenario.cniSettings.vxlanAllowlist ?? scenario.nodes.map(\.address))
        } else {
            allowlist = nil
        }
        if scenario.cni == .calicoVXLAN, scenario.cniSettings.crossSubnet {
            var subnets: [NodeID: Kubernetes.CIDR] = [:]
            for (index, spec) in scenario.nodes.enumerated() {
                subnets[NodeID(index)] = scenario.cniSettings.nodeSubnets[spec.name]
                    ?? Kubernetes.CIDR(spec.address, length: spec.address.isIPv6 ? 64 : 24)
            }
            self.subnets = subnets
        } else {
            subnets = nil
        }
        sourceDestinationCheck = scenario.cniSettings.cloudSourceDestinationCheck
    }

    /// Registers the rules of the scenario's CNI on every node; Flannel installs none of these.
    static func install(in network: Network, nodes: [ClusterNode]) {
        guard network.scenario.cni != .flannel else { return }
        for node in nodes {
            let rules = CNIHostRules(node: node, scenario: network.scenario)
            node.hooks.register(rules, at: .input)
            node.hooks.register(rules, at: .forward)
        }
    }

    func filter(_ buffer: PacketBuffer, _ tag: inout PacketTag, at hook: NetfilterHook, in node: ClusterNode) -> Bool {
        guard let frame = IPv4Frame(buffer.readableBytes) else { return true }
        let network = node.network
        switch hook {
        case .input:
            let cluster = network.cluster
            // CrossSubnet: an unencapsulated pod packet from a same-subnet node is routed on to the pod.
            if subnets != nil, let pod = cluster.pod(at: frame.destination), cluster[pod].node == node.id {
                node.route(buffer, tag)
                return false
            }
            guard let allowlist, frame.protocol == .udp, frame.hasTransport(8), frame.destinationPort == port else { return true }
            let source = IPAddress.v4(frame.source)
            if allowlist.contains(source) { return true }
            network.drop(buffer, tag, at: "\(node.name) cali-INPUT", DropReason(.cniDenied,
                "felix accepts VXLAN (UDP \(port)) only from the nodes in its all-vxlan-net ipset (\(allowlist.map(\.description).sorted().joined(separator: ", "))); \(source) is not one of them, so cali-INPUT drops it"))
            return false
        case .forward:
            let cluster = network.cluster
            guard let sourcePod = cluster.pod(at: frame.source), cluster[sourcePod].node == node.id else { return true }
            if frame.protocol == .udp, frame.hasTransport(8), frame.destinationPort == port {
                let place = cni == .calicoVXLAN ? "\(node.name) cali-from-wl-dispatch" : "\(node.name) cilium endpoint \(cluster[sourcePod].name)"
                let who = cni == .calicoVXLAN ? "felix drops VXLAN-encapsulated packets originating in workloads" : "Cilium drops a pod's packets to the tunnel port"
                network.drop(buffer, tag, at: place, DropReason(.cniDenied,
                    "\(who): pod \(cluster[sourcePod].name) sent UDP to port \(port)"))
                return false
            }
            if let subnets, let remote = cluster.node(owning: frame.destination), remote != node.id,
               let mine = subnets[node.id], let theirs = subnets[remote], mine == theirs {
                sendDirect(buffer, tag, to: network[remote])
                return false
            }
            return true
        default:
            return true
        }
    }

    /// CrossSubnet's same-subnet route: the pod packet goes out of eth0 as it is, to the other node's MAC.
    private func sendDirect(_ buffer: PacketBuffer, _ tag: PacketTag, to remote: ClusterNode) {
        let network = node.network
        guard let frame = IPv4Frame(buffer.readableBytes) else { return }
        network.observers.trace(tag, node.routingPoint, "CrossSubnet: \(remote.name) is on this node's subnet, so \(frame.destination) is routed via eth0 unencapsulated", time: network.now)
        if sourceDestinationCheck {
            network.drop(buffer, tag, at: "\(node.name) cloud interface source/destination check", DropReason(.firewallDenied,
                "Calico CrossSubnet sent a pod packet (\(frame.source) → \(frame.destination)) unencapsulated to \(remote.name) on the same subnet; the cloud's source/destination check drops it because \(frame.source) is not the instance's own address \(node.underlayAddress) (disable the check, or use vxlanMode Always; projectcalico/calico#9138)"))
            return
        }
        MutableIPv4Frame.setEthernet(buffer.mutableBytes, destination: remote.underlayMAC, source: node.underlayMAC, etherType: .ipv4)
        network.sendOnUnderlay(from: node.place, toward: remote.place, buffer, tag)
    }
}
