import PacketWire

/// A networking.k8s.io/v1 NetworkPolicy, the whole spec, with the API server's defaults applied.
public struct NetworkPolicy: Hashable, Sendable {
    public enum PolicyType: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case ingress = "Ingress"
        case egress = "Egress"

        public var description: String { rawValue }
    }

    public var metadata: ObjectMetadata
    /// The pods of the policy's namespace it applies to; `{}` selects them all.
    public var podSelector: LabelSelector
    public var ingress: [NetworkPolicyRule]
    public var egress: [NetworkPolicyRule]
    /// `spec.policyTypes` as written; nil when left out (or empty, which the API treats the same).
    public var writtenPolicyTypes: [PolicyType]?

    public init(metadata: ObjectMetadata, podSelector: LabelSelector = .everything, ingress: [NetworkPolicyRule] = [],
                egress: [NetworkPolicyRule] = [], policyTypes: [PolicyType]? = nil) {
        self.metadata = metadata
        self.podSelector = podSelector
        self.ingress = ingress
        self.egress = egress
        self.writtenPolicyTypes = policyTypes
    }

    /// The directions the policy isolates its pods in. Left out, it is Ingress always, and Egress when the
    /// policy has egress rules (k8s.io/kubernetes pkg/apis/networking/v1/defaults.go `SetDefaults_NetworkPolicy`).
    public var policyTypes: Set<PolicyType> {
        if let written = writtenPolicyTypes, !written.isEmpty { return Set(written) }
        return egress.isEmpty ? [.ingress] : [.ingress, .egress]
    }

    public func isolates(_ direction: PolicyType) -> Bool { policyTypes.contains(direction) }

    public func rules(_ direction: PolicyType) -> [NetworkPolicyRule] { direction == .ingress ? ingress : egress }

    public var namespace: String { metadata.namespace ?? "default" }

    /// `namespace/name`, as the e2e tests and `kubectl` name a policy.
    public var qualifiedName: String { "\(namespace)/\(metadata.name)" }

    public var reference: ObjectReference {
        ObjectReference(kind: "NetworkPolicy", namespace: namespace, name: metadata.name)
    }
}

/// One ingress or egress rule: traffic from (ingress) or to (egress) any of `peers` on any of `ports`.
public struct NetworkPolicyRule: Hashable, Sendable {
    /// `from` or `to`. Empty (or left out) matches every source or destination, in and out of the cluster.
    public var peers: [NetworkPolicyPeer]
    /// Empty (or left out) matches every port and protocol.
    public var ports: [NetworkPolicyPort]
    /// Where the rule is written.
    public var location: ManifestLocation?

    public init(peers: [NetworkPolicyPeer] = [], ports: [NetworkPolicyPort] = [], location: ManifestLocation? = nil) {
        self.peers = peers
        self.ports = ports
        self.location = location
    }
}

/// One entry of `from` or `to`.
public enum NetworkPolicyPeer: Hashable, Sendable {
    /// Pods selected by labels. A pod selector alone means pods of the policy's namespace; a namespace
    /// selector alone means every pod of the selected namespaces; both in one peer mean the selected pods
    /// of the selected namespaces. At least one is set.
    case pods(podSelector: LabelSelector?, namespaceSelector: LabelSelector?)
    case ipBlock(IPBlock)
}

/// An `ipBlock`: addresses in `cidr` but in none of `except`.
public struct IPBlock: Hashable, Sendable, CustomStringConvertible {
    public var cidr: CIDR
    public var except: [CIDR]

    public init(cidr: CIDR, except: [CIDR] = []) {
        self.cidr = cidr
        self.except = except
    }

    @inlinable
    public func contains(_ address: IPAddress) -> Bool {
        guard cidr.contains(address) else { return false }
        for block in except where block.contains(address) { return false }
        return true
    }

    /// `10.0.0.0/8 except 10.1.0.0/16`.
    public var description: String {
        except.isEmpty ? cidr.description : "\(cidr) except " + except.map(\.description).joined(separator: ", ")
    }
}

/// One entry of `ports`.
public struct NetworkPolicyPort: Hashable, Sendable, CustomStringConvertible {
    /// Defaults to TCP (`SetDefaults_NetworkPolicyPort`).
    public var `protocol`: TransportProtocol
    /// Nil matches every port of the protocol. A name is resolved against the destination pod's container ports.
    public var port: PortReference?
    /// With a numeric `port`: the range `port...endPort`.
    public var endPort: UInt16?

    public init(protocol: TransportProtocol = .tcp, port: PortReference? = nil, endPort: UInt16? = nil) {
        self.protocol = `protocol`
        self.port = port
        self.endPort = endPort
    }

    /// `TCP 80`, `TCP 8000-8080`, `TCP serve-80-tcp`, `UDP` (every port).
    public var description: String {
        switch (port, endPort) {
        case (nil, _): return "\(`protocol`) (any port)"
        case (.number(let start)?, let end?): return "\(`protocol`) \(start)-\(end)"
        case (let port?, _): return "\(`protocol`) \(port)"
        }
    }
}
