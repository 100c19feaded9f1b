import Kubernetes
import PacketWire

/// Kubernetes NetworkPolicy in the simulated cluster: what the CNI's agent (Calico's felix, Cilium's agent)
/// keeps, shared by the filter it installs on every node. Decisions are ``Kubernetes/PolicyEngine``'s; this
/// keeps the engine in step with the control plane's pods, names the place each CNI enforces at, and
/// remembers the first denial of each flow with its policy and rule for `overlay-sim probe`.
///
/// Installed only when the scenario has policies and its CNI enforces them: a scenario without policies
/// has no filter on its path, so its captures are what they were.
final class NetworkPolicyEnforcer {
    let cni: CNIMode
    let settings: NetworkPolicySettings
    // The network owns this part and outlives it: no reference counting on the way to it.
    unowned(unsafe) let network: Network
    /// The engine over the pods that exist, rebuilt when the control plane makes a pod.
    private(set) var engine: PolicyEngine
    private var engineBuiltFor = -1
    /// The first policy drop of each traffic entry, for `probe`'s reason.
    private(set) var denials: [FlowID: PolicyDenial] = [:]
    /// What admitted each flow's first packet, in words (for `--explain` and `probe --json`).
    private(set) var admissions: [FlowID: String] = [:]

    init(cni: CNIMode, settings: NetworkPolicySettings, network: Network) {
        self.cni = cni
        self.settings = settings
        self.network = network
        engine = PolicyEngine(PolicyCluster())
    }

    /// Registers a filter on every node's FORWARD hook, where a pod's packets pass through the node on their
    /// way out of the pod's veth and on their way into it: Calico's `cali-from-wl-dispatch` and
    /// `cali-to-wl-dispatch` chains hang off FORWARD (felix `rules/static.go`), and Cilium's endpoint
    /// programs see the same two moments. Nothing when the CNI enforces no policy or there is none.
    static func install(in network: Network, nodes: [ClusterNode]) -> NetworkPolicyEnforcer? {
        let scenario = network.scenario
        guard scenario.cni.enforcesNetworkPolicy, !scenario.networkPolicy.policies.isEmpty else { return nil }
        let enforcer = NetworkPolicyEnforcer(cni: scenario.cni, settings: scenario.networkPolicy, network: network)
        for node in nodes { node.hooks.register(NetworkPolicyFilter(enforcer: enforcer, node: node), at: .forward) }
        return enforcer
    }

    /// The engine for the pods the control plane has now.
    @inline(__always)
    func currentEngine() -> PolicyEngine {
        let cluster = network.cluster
        if engineBuiltFor != cluster.pods.count { rebuild() }
        return engine
    }

    private func rebuild() {
        let cluster = network.cluster
        var pods: [PolicyPod] = []
        for pod in cluster.pods where !pod.deleted {
            let workload = cluster.workloads.first { $0.name == pod.workload }
            let namespace = workload?.namespace ?? "default"
            let prefix = namespace + "/"
            let name = pod.name.hasPrefix(prefix) ? String(pod.name.dropFirst(prefix.count)) : pod.name
            var labels = pod.labels
            labels[NetworkPolicySettings.namespaceLabel] = nil
            pods.append(PolicyPod(namespace: namespace, name: name, labels: labels, addresses: [.v4(pod.address)],
                                  ports: settings.containerPorts[pod.workload] ?? [],
                                  hostNetwork: settings.hostNetwork.contains(pod.workload)))
        }
        engine = PolicyEngine(PolicyCluster(namespaces: settings.namespaces, pods: pods, policies: settings.policies))
        engineBuiltFor = cluster.pods.count
    }

    /// Where the CNI enforces `direction` for `pod` on `node`, as the report names the place.
    func place(_ direction: NetworkPolicy.PolicyType, pod: String, node: ClusterNode) -> String {
        let way = direction == .ingress ? "ingress" : "egress"
        switch cni {
        case .calicoVXLAN: return "\(node.name) felix policy on \(pod)'s cali interface (\(way))"
        case .ciliumVXLAN: return "\(node.name) cilium endpoint \(pod) (\(way))"
        case .flannel: return "\(node.name) (no policy)"
        }
    }

    /// The source a Cilium node's ingress policy sees for a packet whose VNI carried `identity`: the pods
    /// with that identity (all alike to a selector: the identity is their labels and namespace), or for a
    /// reserved or unknown identity no pod, only the address (an `ipBlock` may still match it).
    func endpoint(forIdentity identity: UInt32, address: IPv4Address, engine: PolicyEngine) -> PolicyEndpoint {
        guard let identities = network.ciliumIdentities, let pod = identities.representative[identity] else {
            return PolicyEndpoint(pod: nil, address: .v4(address))
        }
        let representative = engine.endpoint(for: .v4(network.cluster[pod].address))
        return PolicyEndpoint(pod: representative.pod, address: .v4(address))
    }

    func recordDenial(_ denial: PolicyDenial, tag: PacketTag) {
        guard let sender = tag.sender else { return }
        let flow = network.observers.accounting.flow(of: sender)
        if denials[flow] == nil { denials[flow] = denial }
    }

    func recordAdmission(_ words: String, tag: PacketTag) {
        guard let sender = tag.sender else { return }
        let flow = network.observers.accounting.flow(of: sender)
        if admissions[flow] == nil { admissions[flow] = words }
    }
}

/// A policy drop as `probe --json` reports it: the place, the direction, the policies that select the pod,
/// the rules that missed, and the sentence.
public struct PolicyDenial: Hashable, Sendable {
    public var place: String
    public var direction: NetworkPolicy.PolicyType
    /// The policies isolating the pod in that direction, `namespace/name`.
    public var policies: [String]
    /// "ingress rule 1 (peer)", "ingress rule 2 (port)": how each rule missed; empty for a policy with no
    /// rules in the direction (default deny).
    public var rules: [String]
    public var sentence: String
}
