import PacketWire
import VXLAN

/// Label selector: every key must match (Kubernetes `matchLabels`).
public struct LabelSelector: Hashable, Sendable, CustomStringConvertible {
    public var labels: [String: String]
    public func matches(_ podLabels: [String: String]) -> Bool {
        labels.allSatisfy { podLabels[$0.key] == $0.value }
    }
    public var description: String { labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
}

/// How VTEPs find each other (`cluster.overlay.fdb`).
public enum FDBMode: String, Hashable, Sendable {
    /// Flannel: the agent programs a neighbour and an FDB entry for every remote VTEP.
    case `static`
    /// No entries: broadcast and unknown unicast are replicated to every VTEP (head-end replication)
    /// and source MACs are learned from what arrives.
    case learning
}

/// Where the VXLAN device sits in a node.
public enum VTEPLayout: String, Hashable, Sendable, CaseIterable {
    /// Flannel, Calico and Cilium: pod traffic is routed to the vxlan device (`flannel.1` has an address
    /// and routes to the other nodes' pod CIDRs); it is not a bridge port.
    case routed
    /// The vxlan device is a port of the pods' bridge (Docker's overlay, a hand-built L2 overlay). Only
    /// then does the driver answer a packet too big for the path with ICMP itself
    /// (`skb_tunnel_check_pmtu` with `reply = netif_is_any_bridge_port(dev)`).
    case bridged
}

/// The overlay's settings, with `ip link ... type vxlan` names.
public struct OverlaySettings: Hashable, Sendable {
    public var vni: UInt32 = 1
    public var destinationPort: UInt16 = TunnelConfiguration.linuxDefaultPort
    /// Pod interface MTU; Flannel's 1450 leaves room for the 50 bytes of VXLAN over IPv4.
    public var mtu: Int = 1450
    public var udpChecksum = true
    public var df: DFPolicy = .unset
    public var ttl: TTLPolicy = .auto
    public var tos: TOSPolicy = .fixed(0)
    public var groupBasedPolicy = false
    public var sourcePortRange: Range<UInt16> = TunnelConfiguration.linuxEphemeralPorts
    public var fdb: FDBMode = .static
    /// How the VTEP sits in the node (`cluster.overlay.vtep`).
    public var vtep: VTEPLayout = .routed
    public var location: SourceLocation?
}

public struct NodeSpec: Hashable, Sendable {
    public var name: String
    public var address: IPAddress
    public var podCIDR: IPPrefix
    public var location: SourceLocation
    /// The underlay interface's MAC, when the cluster's objects say it (nil: a made-up 02:00:00:0a:00:NN).
    public var underlayMAC: MACAddress? = nil
    /// The VTEP's MAC as the CNI advertised it (Flannel's `VtepMAC` in `backend-data`, Calico's
    /// `projectcalico.org/VXLANTunnelMACAddr`); nil: a made-up 02:00:00:aa:00:NN.
    public var vtepMAC: MACAddress? = nil
    /// The VTEP's own address (Calico's `IPv4VXLANTunnelAddr`); nil: the pod CIDR's network address, as
    /// Flannel gives `flannel.1`.
    public var vtepAddress: IPv4Address? = nil
}

/// A link of the underlay between two nodes or routers.
public struct LinkSpec: Hashable, Sendable {
    public var a: String
    public var b: String
    public var latency: Nanoseconds = 50_000
    /// Bits per second.
    public var bandwidth: UInt64 = 10_000_000_000
    public var mtu: Int = 1500
    /// Probability of losing a packet, drawn from the scenario's seeded generator.
    public var loss: Double = 0
    /// Packets a direction can queue before tail drop.
    public var queue: Int = 1000
    public var location: SourceLocation
}

public enum WorkloadKind: String, Hashable, Sendable {
    case pod, deployment, statefulSet = "statefulset", daemonSet = "daemonset"
}

/// A port a pod's container listens on (Kubernetes `containers[].ports`).
public struct ContainerPort: Hashable, Sendable {
    public var name: String?
    public var port: UInt16
    public var `protocol`: ServiceProtocol
    public init(name: String? = nil, port: UInt16, protocol: ServiceProtocol) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
    }
}

public struct WorkloadSpec: Hashable, Sendable {
    public var kind: WorkloadKind
    public var name: String
    public var replicas: Int
    public var labels: [String: String]
    /// The ports the pods listen on. Empty: they listen on every port the scenario's traffic sends them
    /// (like the upstream tests' agnhost servers); given: only on these, and a connection to any other
    /// port is refused (TCP RST, ICMP port unreachable for UDP).
    public var ports: [ContainerPort] = []
    /// Nodes the scheduler may use (all when empty); a bare pod names exactly one.
    public var nodes: [String]
    public var location: SourceLocation
    /// A bare pod's address when the cluster gave it one (a Pod manifest's `status.podIP`); nil: the node's
    /// host-local IPAM picks one.
    public var address: IPv4Address? = nil
    /// The Kubernetes namespace (manifests); the pods are then named `namespace/name`.
    public var namespace: String? = nil
}

public enum ServiceProtocol: String, Hashable, Sendable { case tcp = "TCP", udp = "UDP" }

public struct ServicePortSpec: Hashable, Sendable {
    public var port: UInt16
    public var targetPort: UInt16
    public var `protocol`: ServiceProtocol
}

public struct ServiceSpec: Hashable, Sendable {
    public var name: String
    public var clusterIP: IPv4Address
    public var selector: LabelSelector
    public var ports: [ServicePortSpec]
    public var location: SourceLocation
}

public enum TrafficProtocol: String, Hashable, Sendable {
    case icmp, udp, tcp
    /// One SCTP INIT per count (RFC 9260 §3.3.2): what `overlay-sim probe --protocol sctp` sends.
    case sctp
}

/// Who sends or receives a flow.
public enum Endpoint: Hashable, Sendable, CustomStringConvertible {
    case pod(String)
    case selector(LabelSelector)
    case service(String)

    public var description: String {
        switch self {
        case .pod(let name): name
        case .selector(let selector): "{\(selector)}"
        case .service(let name): "service/\(name)"
        }
    }
}

public struct TrafficSpec: Hashable, Sendable {
    public var name: String
    public var from: Endpoint
    public var to: Endpoint
    public var `protocol`: TrafficProtocol
    /// Payload bytes per packet (UDP, ICMP) or bytes to transfer in all (TCP).
    public var size: Int
    /// Packets to send (UDP, ICMP).
    public var count: Int
    /// Packets per second.
    public var rate: Double
    public var start: Nanoseconds
    public var port: UInt16
    /// Where the flow's `port` was written; nil when it was not (a Service flow then uses the Service's
    /// first port of the flow's protocol).
    public var portLocation: SourceLocation?
    /// `df: true`: IP_PMTUDISC_DO (DF set, EMSGSIZE above the MTU); `df: false`: IP_PMTUDISC_DONT (DF
    /// clear, fragmented by the pod); absent (nil): the kernel's default IP_PMTUDISC_WANT, DF on every
    /// datagram that fits the MTU and fragmentation without DF for one that does not
    /// (net/ipv4/ip_output.c `__ip_make_skb`, `ip_dont_fragment`). TCP always sets DF.
    public var dontFragment: Bool?
    /// For `to: {selector: ...}`: whether the flow goes to one matching pod or to each.
    public var choose: TargetChoice = .one
    public var location: SourceLocation
}

/// `to: {selector: ..., choose: one|each}`: a selector destination names pods, not one pod. A client
/// application given a set of pods talks to one of them; `each` makes one flow per pod.
public enum TargetChoice: String, Hashable, Sendable {
    /// The first running matching pod by name, at each send (after a deletion, the next one). The
    /// report's `endpoints` says which pods it reached and how often.
    case one
    /// One flow per pod the selector matches at start, named `FLOW/POD`: the validator expands it.
    case each
}

public enum EventAction: Hashable, Sendable {
    /// `delete: NAME`: a pod by name.
    case deletePod(String)
    /// `delete: deployment/NAME`: the Deployment's first live pod by name (its names depend on the seed).
    case deleteDeploymentPod(String)
}

public struct EventSpec: Hashable, Sendable {
    public var at: Nanoseconds
    public var action: EventAction
    public var location: SourceLocation
}

/// Which capture points write pcaps.
public struct CaptureSettings: Hashable, Sendable {
    public var underlay = true
    public var vtep = true
    public var pods = true
    /// `drops.pcap`: every frame dropped (by a firewall, a queue, an MTU, a VTEP), at the point it was
    /// dropped.
    public var drops = true
}

/// A whole scenario as read from YAML.
public struct Scenario: Hashable, Sendable {
    public var name: String
    public var file: String
    public var description: String = ""
    public var seed: UInt64 = 1
    public var overlay = OverlaySettings()
    public var nodes: [NodeSpec] = []
    public var routers: [String] = []
    /// Routers whose ICMP errors quote only RFC 792's minimum (the IP header and 8 bytes) instead of
    /// Linux's 576-byte limit (`underlay.routers: [{name: R, icmpQuote: rfc792}]`).
    public var minimalQuoteRouters: Set<String> = []
    /// Layer-2 switches: they forward without touching IP and drop frames too big for a port silently.
    public var switches: [String] = []
    public var links: [LinkSpec] = []
    public var workloads: [WorkloadSpec] = []
    public var services: [ServiceSpec] = []
    public var traffic: [TrafficSpec] = []
    public var events: [EventSpec] = []
    public var firewalls: [FirewallSpec] = []
    public var captures = CaptureSettings()
    /// Kernel settings every node and pod uses (`sysctl:`), Linux's defaults unless set.
    public var sysctls = Sysctls()
    /// Legal but suspicious things found while reading the file (firewall rules that can never match).
    public var warnings: [ScenarioWarning] = []
    /// The CNI whose dataplane the nodes run (`cni:`); Flannel unless the scenario or its manifests say.
    public var cni: CNIMode = .flannel
    public var cniSettings = CNISettings()
    /// Kubernetes NetworkPolicy: the namespaces, the pods as policies see them, the policies (from manifests).
    public var networkPolicy = NetworkPolicySettings()
    /// Hosts on the underlay that are not nodes, and the crafted packets they send (`attackers:`).
    public var attackers: [AttackerSpec] = []
}
