import PacketWire

/// Cilium's security identities: every pod whose identity-relevant labels are the same shares one number,
/// and that number is what Cilium puts in the VNI of each VXLAN packet it sends (bpf/lib/encap.h
/// `__encap_with_nodeid`: `key.tunnel_id = seclabel`, on `cilium_vxlan`, an `external` vxlan device). The
/// receiving node takes the sender's identity from the VNI (bpf/bpf_overlay.c `handle_ipv4`, from the tunnel
/// key) and judges ingress policy by it, not by the inner source address: a forged VNI is a forged identity.
///
/// Identity-relevant labels, as Cilium's defaults have them (Documentation/operations/performance/
/// scalability/identity-relevant-labels.rst): the pod's namespace (`io.kubernetes.pod.namespace`), its
/// namespace's labels (`io.cilium.k8s.namespace.labels.*`), and the pod's own labels except keys beginning
/// `io.kubernetes`, `kubernetes.io`, `beta.kubernetes.io`, `k8s.io`, `pod-template-generation`,
/// `pod-template-hash`, `controller-revision-hash`, `annotation.` or `etcd_node`.
///
/// Numbers: reserved identities below 256 (bpf/lib/identity.h: host 1, world 2, the local and remote
/// nodes 6); pods' identities from 256 up (pkg/identity `MinimalAllocationIdentity`). Cilium's allocator takes
/// any free number; here each new label set takes the next, in the order the control plane makes pods, so
/// the same scenario numbers them the same way every run.
final class CiliumIdentities {
    /// `HOST_ID`: the node itself, before encapsulation turns it into `LOCAL_NODE_ID`.
    static let host: UInt32 = 1
    /// `WORLD_ID`: anything Cilium does not know.
    static let world: UInt32 = 2
    /// `LOCAL_NODE_ID` / `REMOTE_NODE_ID`: a node's own traffic as it crosses the tunnel
    /// (`__encap_with_nodeid` replaces `HOST_ID` by it).
    static let node: UInt32 = 6
    /// The first identity allocated to pods (pkg/identity `MinimalAllocationIdentity`).
    static let firstPodIdentity: UInt32 = 256

    /// Key prefixes Cilium's default label filter leaves out of an identity.
    static let ignoredLabelPrefixes = ["io.kubernetes", "kubernetes.io", "beta.kubernetes.io", "k8s.io",
                                       "pod-template-generation", "pod-template-hash", "controller-revision-hash",
                                       "annotation.", "etcd_node"]

    /// Each pod's identity, by pod index (deleted pods keep theirs).
    private(set) var byPod: [UInt32] = []
    /// Each identity's labels, `key=value` sorted, as `cilium identity list` prints them.
    private(set) var labels: [UInt32: [String]] = [:]
    /// The first pod given each identity: what ingress policy judges a packet carrying it as.
    private(set) var representative: [UInt32: PodID] = [:]
    private var byLabels: [[String]: UInt32] = [:]
    private let namespaces: [String: [String: String]]

    init(namespaces: [String: [String: String]]) {
        self.namespaces = namespaces
    }

    /// The identity-relevant labels of a pod in `namespace` with `podLabels`.
    static func relevantLabels(namespace: String, podLabels: [String: String],
                               namespaceLabels: [String: String]) -> [String] {
        var relevant = ["io.kubernetes.pod.namespace=\(namespace)"]
        for (key, value) in namespaceLabels { relevant.append("io.cilium.k8s.namespace.labels.\(key)=\(value)") }
        for (key, value) in podLabels where key != NetworkPolicySettings.namespaceLabel
            && !ignoredLabelPrefixes.contains(where: { key.hasPrefix($0) }) {
            relevant.append("\(key)=\(value)")
        }
        return relevant.sorted()
    }

    /// Gives the pod the control plane just made its identity: an existing one for labels seen before,
    /// else the next number.
    func add(_ pod: Pod, namespace: String) {
        precondition(pod.id.index == byPod.count, "identities are given in pod creation order")
        let relevant = Self.relevantLabels(namespace: namespace, podLabels: pod.labels,
                                           namespaceLabels: namespaces[namespace] ?? [:])
        if let known = byLabels[relevant] {
            byPod.append(known)
            return
        }
        let identity = Self.firstPodIdentity + UInt32(byLabels.count)
        byLabels[relevant] = identity
        labels[identity] = relevant
        representative[identity] = pod.id
        byPod.append(identity)
    }

    /// The identity Cilium encapsulates a packet from `source` with: its pod's, or the node's for anything
    /// else the node sends (its own address, a masqueraded source), world for what it only forwards.
    func identity(ofSource source: IPv4Address, cluster: Cluster, node: ClusterNode) -> UInt32 {
        if let pod = cluster.pod(at: source), pod.index < byPod.count { return byPod[pod.index] }
        if source == node.overlay.vtepAddress || IPAddress.v4(source) == node.underlayAddress { return Self.node }
        return Self.world
    }

    /// What an identity means, for traces: `256 (io.kubernetes.pod.namespace=x, pod=a)`, `6 (reserved:remote-node)`.
    func describe(_ identity: UInt32) -> String {
        switch identity {
        case Self.host: return "\(identity) (reserved:host)"
        case Self.world: return "\(identity) (reserved:world)"
        case Self.node: return "\(identity) (reserved:remote-node)"
        default:
            guard let labels = labels[identity] else { return "\(identity) (unknown to this cluster)" }
            return "\(identity) (\(labels.joined(separator: ", ")))"
        }
    }
}
