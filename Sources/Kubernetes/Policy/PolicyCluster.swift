import PacketWire

/// The cluster as NetworkPolicy sees it: namespaces with their labels, pods with labels, addresses and
/// container ports, and the policies. A plain value; ``PolicyEngine`` compiles it.
public struct PolicyCluster: Sendable {
    /// Namespace name → labels. Every namespace a pod or policy names gets at least
    /// `kubernetes.io/metadata.name` (the API server sets it on every namespace).
    public var namespaces: [String: [String: String]]
    public var pods: [PolicyPod]
    public var policies: [NetworkPolicy]

    public init(namespaces: [String: [String: String]] = [:], pods: [PolicyPod] = [], policies: [NetworkPolicy] = []) {
        self.namespaces = namespaces
        self.pods = pods
        self.policies = policies
        for name in pods.map(\.namespace) + policies.map(\.namespace) where self.namespaces[name] == nil {
            self.namespaces[name] = [NamespaceManifest.nameLabel: name]
        }
        for (name, labels) in self.namespaces where labels[NamespaceManifest.nameLabel] != name {
            self.namespaces[name]?[NamespaceManifest.nameLabel] = name
        }
    }

    /// The namespaces, Pods and NetworkPolicies of a manifest set. Pods that workloads would make are not
    /// included: the simulation's control plane makes them and builds its own cluster.
    public init(manifests: ManifestSet) {
        var namespaces: [String: [String: String]] = [:]
        for namespace in manifests.namespaces { namespaces[namespace.name] = namespace.labels }
        self.init(namespaces: namespaces, pods: manifests.pods.map(PolicyPod.init), policies: manifests.networkPolicies)
    }
}

/// A pod as NetworkPolicy sees it.
public struct PolicyPod: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public var labels: [String: String]
    /// Its addresses, the primary first; matched by `ipBlock` peers.
    public var addresses: [IPAddress]
    /// Its containers' ports: named ports resolve against these.
    public var ports: [ContainerPort]
    /// A host-network pod is not selected by policies and its traffic is the node's.
    public var hostNetwork: Bool

    public init(namespace: String, name: String, labels: [String: String] = [:], addresses: [IPAddress] = [],
                ports: [ContainerPort] = [], hostNetwork: Bool = false) {
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.addresses = addresses
        self.ports = ports
        self.hostNetwork = hostNetwork
    }

    public init(_ pod: PodManifest) {
        self.init(namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name, labels: pod.metadata.labels,
                  addresses: pod.addresses, ports: pod.spec.ports, hostNetwork: pod.spec.hostNetwork)
    }

    /// `namespace/name`.
    public var description: String { "\(namespace)/\(name)" }
}

/// A pod's position in a ``PolicyEngine``: identity with a type, not a bare integer.
public struct PodIndex: Hashable, Sendable, Comparable {
    public let rawValue: Int32

    @inlinable
    public init(rawValue: Int32) { self.rawValue = rawValue }

    @inlinable
    var offset: Int { Int(rawValue) }

    public static func < (lhs: PodIndex, rhs: PodIndex) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One end of a connection: a pod of the cluster (with the address the packet carries, when known), or an
/// address outside every pod (a node, the internet).
public struct PolicyEndpoint: Hashable, Sendable {
    public var pod: PodIndex?
    /// The packet's address; for a pod without one given, its primary address is used for `ipBlock`s.
    public var address: IPAddress?

    @inlinable
    public init(pod: PodIndex?, address: IPAddress?) {
        self.pod = pod
        self.address = address
    }

    @inlinable
    public static func pod(_ index: PodIndex, address: IPAddress? = nil) -> PolicyEndpoint {
        PolicyEndpoint(pod: index, address: address)
    }

    @inlinable
    public static func external(_ address: IPAddress) -> PolicyEndpoint {
        PolicyEndpoint(pod: nil, address: address)
    }
}

/// A connection attempt: its first packet's ends, protocol and destination port (after kube-proxy's DNAT,
/// which is where NetworkPolicy is enforced).
public struct PolicyConnection: Hashable, Sendable {
    public var source: PolicyEndpoint
    public var destination: PolicyEndpoint
    public var `protocol`: TransportProtocol
    public var port: UInt16

    @inlinable
    public init(from source: PolicyEndpoint, to destination: PolicyEndpoint, protocol: TransportProtocol, port: UInt16) {
        self.source = source
        self.destination = destination
        self.protocol = `protocol`
        self.port = port
    }
}
