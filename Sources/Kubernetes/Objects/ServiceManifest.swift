import PacketWire

/// A v1 Service: how kube-proxy will translate traffic to it.
public struct ServiceManifest: Hashable, Sendable {
    public enum ServiceType: String, Hashable, Sendable, CaseIterable {
        case clusterIP = "ClusterIP"
        case nodePort = "NodePort"
        case loadBalancer = "LoadBalancer"
        case externalName = "ExternalName"
    }

    /// `externalTrafficPolicy` / `internalTrafficPolicy`.
    public enum TrafficPolicy: String, Hashable, Sendable, CaseIterable {
        /// Any ready endpoint in the cluster.
        case cluster = "Cluster"
        /// Only endpoints on the node the traffic arrived at (kube-proxy drops it where there are none).
        case local = "Local"
    }

    public enum SessionAffinity: Hashable, Sendable {
        case none
        /// `ClientIP` with `sessionAffinityConfig.clientIP.timeoutSeconds` (default 10800, three hours).
        case clientIP(timeoutSeconds: Int)
    }

    public var metadata: ObjectMetadata
    /// Default `ClusterIP`.
    public var type: ServiceType
    /// `spec.clusterIPs` (or `spec.clusterIP`); empty when unassigned or headless.
    public var clusterIPs: [IPAddress]
    /// `clusterIP: None`: no virtual address; DNS answers with the endpoints' addresses.
    public var isHeadless: Bool
    public var ports: [ServicePortManifest]
    /// `spec.selector`; nil for a Service without one (its EndpointSlices are written by hand).
    public var selector: [String: String]?
    /// Default `Cluster` for NodePort and LoadBalancer Services; nil for the other types.
    public var externalTrafficPolicy: TrafficPolicy?
    /// Default `Cluster`.
    public var internalTrafficPolicy: TrafficPolicy
    public var sessionAffinity: SessionAffinity
    /// `spec.allocateLoadBalancerNodePorts` (LoadBalancer only; the API defaults it to true).
    public var allocateLoadBalancerNodePorts: Bool?
    /// An ExternalName Service's DNS name.
    public var externalName: String?
    public var externalIPs: [IPAddress]
    /// `status.loadBalancer.ingress[].ip`.
    public var loadBalancerIngress: [IPAddress]
    public var publishNotReadyAddresses: Bool

    public init(metadata: ObjectMetadata, type: ServiceType = .clusterIP, clusterIPs: [IPAddress] = [],
                isHeadless: Bool = false, ports: [ServicePortManifest] = [], selector: [String: String]? = nil,
                externalTrafficPolicy: TrafficPolicy? = nil, internalTrafficPolicy: TrafficPolicy = .cluster,
                sessionAffinity: SessionAffinity = .none, allocateLoadBalancerNodePorts: Bool? = nil,
                externalName: String? = nil, externalIPs: [IPAddress] = [], loadBalancerIngress: [IPAddress] = [],
                publishNotReadyAddresses: Bool = false) {
        self.metadata = metadata
        self.type = type
        self.clusterIPs = clusterIPs
        self.isHeadless = isHeadless
        self.ports = ports
        self.selector = selector
        self.externalTrafficPolicy = externalTrafficPolicy
        self.internalTrafficPolicy = internalTrafficPolicy
        self.sessionAffinity = sessionAffinity
        self.allocateLoadBalancerNodePorts = allocateLoadBalancerNodePorts
        self.externalName = externalName
        self.externalIPs = externalIPs
        self.loadBalancerIngress = loadBalancerIngress
        self.publishNotReadyAddresses = publishNotReadyAddresses
    }

    public var reference: ObjectReference { ObjectReference(kind: "Service", namespace: metadata.namespace, name: metadata.name) }
}

/// One `spec.ports[]` entry of a Service.
public struct ServicePortManifest: Hashable, Sendable, CustomStringConvertible {
    /// Required when the Service has more than one port.
    public var name: String?
    public var port: UInt16
    /// The pods' port, by number or by container port name; defaults to `port`.
    public var targetPort: PortReference
    /// NodePort and LoadBalancer Services; nil when unassigned.
    public var nodePort: UInt16?
    /// Defaults to TCP.
    public var `protocol`: TransportProtocol
    public var appProtocol: String?

    public init(name: String? = nil, port: UInt16, targetPort: PortReference? = nil, nodePort: UInt16? = nil,
                protocol: TransportProtocol = .tcp, appProtocol: String? = nil) {
        self.name = name
        self.port = port
        self.targetPort = targetPort ?? .number(port)
        self.nodePort = nodePort
        self.protocol = `protocol`
        self.appProtocol = appProtocol
    }

    /// `http 80→8080/TCP`, as `kubectl describe` lists ports.
    public var description: String { (name.map { "\($0) " } ?? "") + "\(port)→\(targetPort)/\(`protocol`)" }
}

/// A discovery.k8s.io/v1 EndpointSlice: the addresses kube-proxy sends a Service's traffic to.
public struct EndpointSliceManifest: Hashable, Sendable {
    public enum AddressType: String, Hashable, Sendable, CaseIterable {
        case ipv4 = "IPv4"
        case ipv6 = "IPv6"
        case fqdn = "FQDN"
    }

    public var metadata: ObjectMetadata
    /// The `kubernetes.io/service-name` label: the Service the slice belongs to.
    public var serviceName: String?
    public var addressType: AddressType
    public var endpoints: [Endpoint]
    public var ports: [Port]

    public struct Endpoint: Hashable, Sendable {
        /// IP addresses for IPv4/IPv6 slices, names for FQDN slices.
        public var addresses: [String]
        /// `conditions.ready`; nil means unknown, which consumers treat as ready.
        public var ready: Bool?
        public var serving: Bool?
        public var terminating: Bool?
        public var nodeName: String?
        public var zone: String?
        /// `targetRef`: usually the Pod behind the address.
        public var target: ObjectReference?

        public init(addresses: [String], ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil,
                    nodeName: String? = nil, zone: String? = nil, target: ObjectReference? = nil) {
            self.addresses = addresses
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
            self.nodeName = nodeName
            self.zone = zone
            self.target = target
        }
    }

    public struct Port: Hashable, Sendable {
        public var name: String?
        /// Nil means every port.
        public var port: UInt16?
        public var `protocol`: TransportProtocol
        public var appProtocol: String?

        public init(name: String? = nil, port: UInt16?, protocol: TransportProtocol = .tcp, appProtocol: String? = nil) {
            self.name = name
            self.port = port
            self.protocol = `protocol`
            self.appProtocol = appProtocol
        }
    }

    public init(metadata: ObjectMetadata, serviceName: String?, addressType: AddressType,
                endpoints: [Endpoint] = [], ports: [Port] = []) {
        self.metadata = metadata
        self.serviceName = serviceName
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    public var reference: ObjectReference {
        ObjectReference(kind: "EndpointSlice", namespace: metadata.namespace, name: metadata.name)
    }
}
