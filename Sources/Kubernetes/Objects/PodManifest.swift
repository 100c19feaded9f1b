import PacketWire

/// A v1 Pod: where it runs, its labels (what selectors see), its containers' ports (what named ports and
/// Services' `targetPort` resolve against) and its addresses.
public struct PodManifest: Hashable, Sendable {
    public var metadata: ObjectMetadata
    public var spec: PodSpecification
    /// `status.podIPs` (or `status.podIP` when only that is given), first the primary address.
    public var addresses: [IPAddress]
    /// `status.phase`: Pending, Running, Succeeded, Failed, Unknown; nil when the manifest has no status.
    public var phase: String?
    /// `status.hostIP`: the node's address as the kubelet reported it.
    public var hostAddress: IPAddress?

    public init(metadata: ObjectMetadata, spec: PodSpecification, addresses: [IPAddress] = [],
                phase: String? = nil, hostAddress: IPAddress? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.addresses = addresses
        self.phase = phase
        self.hostAddress = hostAddress
    }

    public var reference: ObjectReference { ObjectReference(kind: "Pod", namespace: metadata.namespace, name: metadata.name) }
}

/// The part of a pod spec the network sees: a Pod's `spec`, or a workload's `spec.template.spec`.
public struct PodSpecification: Hashable, Sendable {
    /// The node the pod is bound to; nil when the scheduler has not placed it.
    public var nodeName: String?
    /// `hostNetwork: true`: the pod uses the node's network namespace and addresses. NetworkPolicy does not
    /// select such pods and their traffic comes from the node's address (the behaviour the Kubernetes
    /// documentation describes as the common one for host-network pods).
    public var hostNetwork: Bool
    /// The ports of `containers` and of `initContainers` (sidecars, `restartPolicy: Always`, serve too).
    public var ports: [ContainerPort]
    /// Container names, in order.
    public var containerNames: [String]

    public init(nodeName: String? = nil, hostNetwork: Bool = false, ports: [ContainerPort] = [],
                containerNames: [String] = []) {
        self.nodeName = nodeName
        self.hostNetwork = hostNetwork
        self.ports = ports
        self.containerNames = containerNames
    }

    /// The number of the container port called `name` for `protocol`, as NetworkPolicy and Service
    /// `targetPort` resolve a named port.
    public func port(named name: String, protocol: TransportProtocol) -> UInt16? {
        ports.first { $0.name == name && $0.protocol == `protocol` }?.number
    }
}

/// One `containers[].ports[]` entry.
public struct ContainerPort: Hashable, Sendable, CustomStringConvertible {
    /// The container the port belongs to.
    public var container: String
    /// An IANA_SVC_NAME (at most 15 characters, lower case, digits and '-'), unique in the pod.
    public var name: String?
    public var number: UInt16
    /// Defaults to TCP.
    public var `protocol`: TransportProtocol
    /// `hostPort`: the port on the node's address that maps to this one.
    public var hostPort: UInt16?

    public init(container: String, name: String? = nil, number: UInt16, protocol: TransportProtocol = .tcp,
                hostPort: UInt16? = nil) {
        self.container = container
        self.name = name
        self.number = number
        self.protocol = `protocol`
        self.hostPort = hostPort
    }

    /// `serve-80-tcp 80/TCP`, or `80/TCP` without a name.
    public var description: String { (name.map { "\($0) " } ?? "") + "\(number)/\(`protocol`)" }
}

/// A pod template: the labels and spec a workload stamps its pods from.
public struct PodTemplate: Hashable, Sendable {
    public var labels: [String: String]
    public var annotations: [String: String]
    public var spec: PodSpecification

    public init(labels: [String: String] = [:], annotations: [String: String] = [:], spec: PodSpecification) {
        self.labels = labels
        self.annotations = annotations
        self.spec = spec
    }
}
