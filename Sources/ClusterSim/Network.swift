import Capture
import Firewall
import PacketWire
import VXLAN

/// The simulated network's parts, wired together, and what they share: the clock and event queue, the
/// packet buffers, the observers, the run's random source. `Simulation` builds one from a scenario, drives
/// its events, and asks it for the report. Parts reach each other through it, as ns-3's nodes reach their
/// devices and channels: pods hand frames to their node over a veth, nodes to the underlay's links, links
/// deliver to the place at their far end.
final class Network {
    let scenario: Scenario
    let scheduler = Scheduler()
    let pool = BufferPool()
    let observers: Observers
    /// The control plane: pods and where they run. Changed only by control-plane events.
    let cluster: Cluster
    let services: ServiceTable
    private(set) var nodes: [ClusterNode] = []
    let underlay: Underlay
    /// Each pod's network stack, made when the control plane creates the pod.
    private(set) var pods: [PodStack] = []
    /// The traffic entries' senders (applications in the client pods), in creation order.
    private(set) var senders: [Sender] = []
    /// The attackers' crafted streams, by ``AttackID``.
    private(set) var injectors: [Injector] = []
    // The same parts again, for the packet path's calls into them (`withNode` and the like): an element
    // read from the arrays above is retained for the call, one of these is not (see `Unretained`).
    private var unretainedNodes: [Unretained<ClusterNode>] = []
    private var unretainedPods: [Unretained<PodStack>] = []
    private var unretainedSenders: [Unretained<Sender>] = []
    let firewalls: FirewallPlan
    /// Names for addresses, for explanations.
    let names: AddressBook
    /// NetworkPolicy as the CNI enforces it (nil: no policies, or a CNI that enforces none).
    private(set) var policy: NetworkPolicyEnforcer?
    /// Cilium's security identities, which its VNI carries (nil for the other CNIs).
    private(set) var ciliumIdentities: CiliumIdentities?
    /// The seeded generator behind link loss.
    var random: SplitMix64
    /// Each place's ICMP error sender (a node's kernel, a router's), by place index: the rate limits and
    /// identification counters of net/ipv4/icmp.c `__icmp_send` are per host.
    var icmpSenders: [ICMPErrorSender] = []
    private var nodeByUnderlayAddress: [IPAddress: NodeID] = [:]
    /// The VXLAN overhead on this underlay: 50 bytes over IPv4, 70 over IPv6.
    let overhead: Int
    /// Whether VXLAN-GBP is on: read per encapsulated packet, here rather than through `scenario` (a
    /// struct: reading a field through it copied it).
    let groupBasedPolicy: Bool
    /// The scenario's settings the packet path reads, stored once as plain values for the same reason.
    let settings: DataplaneSettings
    /// Virtual time of the last packet activity: the run's duration in the report.
    var lastActivity: Nanoseconds { scheduler.lastActivity }
    /// Whether any node has learned a path MTU from ICMP: until one has, sending on the underlay skips
    /// asking the sending node.
    var pathMTULearned = false

    init(scenario: Scenario) throws(ScenarioError) {
        self.scenario = scenario
        cluster = try Cluster(scenario: scenario)
        services = ServiceTable(scenario.services)
        random = SplitMix64(seed: scenario.seed)
        groupBasedPolicy = scenario.overlay.groupBasedPolicy
        settings = DataplaneSettings(scenario)
        overhead = TunnelEndpoint.overhead(ipv6: scenario.nodes.first?.address.isIPv6 ?? false)
        observers = Observers(accounting: FlowAccounting(traffic: scenario.traffic, overlayPort: scenario.overlay.destinationPort))
        // The underlay and the firewalls' placement come from the scenario alone, before the nodes: the
        // nodes hold them directly.
        let underlay = Underlay(scenario: scenario)
        self.underlay = underlay
        let names = FirewallPlan.names(nodes: scenario.nodes, cluster: cluster, underlay: underlay)
        self.names = names
        firewalls = FirewallPlan(scenario: scenario, underlay: underlay, names: names)
        icmpSenders = underlay.places.indices.map { index in
            ICMPErrorSender(seed: scenario.seed ^ (UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15), sysctls: scenario.sysctls)
        }
        var made: [ClusterNode] = []
        for (index, spec) in scenario.nodes.enumerated() {
            made.append(ClusterNode(id: NodeID(index), spec: spec, network: self,
                             mode: VXLANMode(node: spec, index: index, scenario: scenario)))
            nodeByUnderlayAddress[spec.address] = NodeID(index)
        }
        nodes = made
        unretainedNodes = made.map(Unretained.init)
        for node in made {
            if let host = firewalls.hostFirewall(of: node.id) {
                let filter = HostFirewallFilter(device: host)
                for hook in [NetfilterHook.input, .forward, .output] { node.hooks.register(filter, at: hook) }
            }
        }
        // NetworkPolicy first: a pod's egress is judged before the CNI routes the packet (CrossSubnet's eth0 route).
        policy = NetworkPolicyEnforcer.install(in: self, nodes: made)
        CNIHostRules.install(in: self, nodes: made)
        if scenario.cni == .ciliumVXLAN { ciliumIdentities = CiliumIdentities(namespaces: scenario.networkPolicy.namespaces) }
        for pod in cluster.pods { addStack(for: pod.id) }
        for attacker in scenario.attackers {
            for spec in attacker.sends {
                injectors.append(try Injector(id: AttackID(injectors.count), spec: spec, attacker: attacker, network: self))
            }
        }
        observers.attacks = AttackAccounting(count: injectors.count)
    }

    // MARK: - Parts

    subscript(node: NodeID) -> ClusterNode { nodes[node.index] }
    subscript(pod: PodID) -> PodStack { pods[pod.index] }
    subscript(sender: SenderID) -> Sender { senders[sender.index] }

    /// Calls into a part on the packet path, without reference counting.
    @inline(__always)
    func withNode<Result>(_ node: NodeID, _ body: (ClusterNode) -> Result) -> Result { unretainedNodes[node.index](body) }
    @inline(__always)
    func withPod<Result>(_ pod: PodID, _ body: (PodStack) -> Result) -> Result { unretainedPods[pod.index](body) }
    @inline(__always)
    func withSender<Result>(_ sender: SenderID, _ body: (Sender) -> Result) -> Result { unretainedSenders[sender.index](body) }

    /// The node whose underlay address this is.
    func node(atUnderlay address: IPAddress) -> NodeID? { nodeByUnderlayAddress[address] }

    /// Makes the network stack of a pod the control plane just created.
    func addStack(for pod: PodID) {
        precondition(pod.index == pods.count, "pod stacks are made in creation order")
        let info = cluster[pod]
        let stack = PodStack(pod: info, node: self[info.node], network: self)
        pods.append(stack)
        unretainedPods.append(Unretained(stack))
        if let ciliumIdentities {
            let namespace = cluster.workloads.first { $0.name == info.workload }?.namespace ?? "default"
            ciliumIdentities.add(info, namespace: namespace)
        }
    }

    func addSender(_ sender: Sender) {
        senders.append(sender)
        unretainedSenders.append(Unretained(sender))
    }

    // MARK: - What every part does

    var now: Nanoseconds { scheduler.now }

    /// Records a drop with every observer and recycles the buffer.
    func drop(_ buffer: PacketBuffer, _ tag: PacketTag, at place: String, _ reason: DropReason) {
        observers.dropped(buffer.readableBytes, tag: tag, at: place, reason: reason, time: now)
        pool.release(buffer)
    }

    /// The explained flow's description of a frame (with VXLAN contents when it is one).
    func describe(_ bytes: UnsafeRawBufferPointer) -> String {
        names.describe(bytes, vxlanPorts: [scenario.overlay.destinationPort])
    }
}

/// The scenario's settings that the packet path reads, as plain values: reading them through `Scenario`
/// (a struct of arrays and strings) per packet copied it.
struct DataplaneSettings {
    /// The VTEP is a port of cni0 (Cilium-style bridged) rather than a routed `flannel.1`.
    let bridgedVTEP: Bool
    /// The pods' interface MTU (the overlay's `mtu`).
    let podMTU: Int
    /// `net.ipv4.ip_forward_use_pmtu`.
    let forwardUsesPathMTU: Bool
    /// `net.ipv4.ip_default_ttl`.
    let defaultTTL: UInt8
    /// The run's seed (kube-proxy's endpoint choice).
    let seed: UInt64
    /// Cilium's VXLAN: the sender's security identity in the VNI (`Network.ciliumIdentities`).
    let ciliumIdentities: Bool

    init(_ scenario: Scenario) {
        bridgedVTEP = scenario.overlay.vtep == .bridged
        podMTU = scenario.overlay.mtu
        forwardUsesPathMTU = scenario.sysctls.ipForwardUsePMTU
        defaultTTL = scenario.sysctls.ipDefaultTTL
        seed = scenario.seed
        ciliumIdentities = scenario.cni == .ciliumVXLAN
    }
}
