import Kubernetes
import PacketWire

/// The CNI whose dataplane the nodes run (`cni:` in a scenario, or what the manifests' CNI configuration
/// says). Each is a way of using the same Linux vxlan device, with its own port, VNI, MTU and host rules, and
/// its own place for NetworkPolicy.
public enum CNIMode: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Flannel's vxlan backend (flannel pkg/backend/vxlan): `flannel.1`, VNI 1, port 8472 (the kernel's
    /// default, which flannel keeps unless `Port` is set), no NetworkPolicy at all.
    case flannel
    /// Calico in VXLAN mode (felix `vxlan.calico`): VNI 4096, port 4789 (felix `VXLANVNI` and `VXLANPort`
    /// defaults), felix's input rules allowing VXLAN only from the nodes it knows, policy on each pod's
    /// `cali*` interface in the node.
    case calicoVXLAN = "calico-vxlan"
    /// Cilium with `routing-mode: tunnel` and `tunnel-protocol: vxlan` (`cilium_vxlan`, port 8472): the VNI
    /// carries the sender's security identity; policy at the source's egress and the destination's ingress.
    case ciliumVXLAN = "cilium-vxlan"

    public var description: String { rawValue }

    /// The UDP port the CNI's vxlan device listens on by default.
    public var defaultPort: UInt16 {
        switch self {
        case .flannel, .ciliumVXLAN: 8472
        case .calicoVXLAN: 4789
        }
    }

    /// The VNI the CNI uses by default (Cilium's varies per packet: the source's identity).
    public var defaultVNI: UInt32 {
        switch self {
        case .flannel: 1
        case .calicoVXLAN: 4096
        case .ciliumVXLAN: 2
        }
    }

    /// Where the CNI enforces NetworkPolicy, in words a report can print.
    public var policyEnforcement: String {
        switch self {
        case .flannel:
            "Flannel does not implement NetworkPolicy: policies are accepted by the API server and enforced by nothing"
        case .calicoVXLAN:
            "Calico (felix) enforces NetworkPolicy on each pod's cali* interface in its node: egress as a packet leaves the pod, ingress as it enters it"
        case .ciliumVXLAN:
            "Cilium enforces NetworkPolicy in its BPF programs: egress at the source pod's endpoint, ingress at the destination pod's endpoint"
        }
    }

    /// Whether the CNI enforces NetworkPolicy at all.
    public var enforcesNetworkPolicy: Bool { self != .flannel }
}

/// The CNI's settings beyond its mode.
public struct CNISettings: Hashable, Sendable {
    /// Where the scenario wrote `cni:` (nil: the default, or what the manifests' CNI configuration says).
    public var written: SourceLocation? = nil
    /// Calico's IPPool `vxlanMode: CrossSubnet`: encapsulate only between nodes on different subnets; pod
    /// traffic to a node on the same subnet goes unencapsulated, with pod addresses on the underlay.
    public var crossSubnet = false
    /// Per node, the subnet its underlay address is on (Calico's `projectcalico.org/IPv4Address`), for
    /// CrossSubnet; nodes missing here are taken to share one subnet.
    public var nodeSubnets: [String: Kubernetes.CIDR] = [:]
    /// Node addresses felix's `cali40-input` allowlist (the `all-vxlan-net` ipset) holds; nil: every node's.
    public var vxlanAllowlist: [IPAddress]? = nil
    /// The cloud's source/destination check on every node's interface (AWS's default on an ENI): a packet
    /// whose source (leaving) or destination (arriving) is not the instance's own address is dropped
    /// (`cloud: {sourceDestinationCheck: true}`). Only unencapsulated pod traffic meets it.
    public var cloudSourceDestinationCheck = false

    public init() {}
}

/// NetworkPolicy as the scenario carries it: the namespaces with their labels, each workload's namespace and
/// container ports (named ports resolve against them), and the policies, all as the manifests gave them.
public struct NetworkPolicySettings: Hashable, Sendable {
    /// Namespace name → labels (`kubernetes.io/metadata.name` included).
    public var namespaces: [String: [String: String]] = [:]
    public var policies: [Kubernetes.NetworkPolicy] = []
    /// Workload name → its pods' container ports, every protocol (SCTP too).
    public var containerPorts: [String: [Kubernetes.ContainerPort]] = [:]
    /// Workloads whose pods use the node's network (`hostNetwork: true`): no policy selects them.
    public var hostNetwork: Set<String> = []

    public init() {}
}
