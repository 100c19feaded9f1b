/// Cilium's datapath settings: the `cilium-config` ConfigMap (every value is text there). Defaults from
/// Cilium's documentation and pkg/defaults: routing-mode `tunnel`, tunnel-protocol `vxlan`, tunnel-port 8472
/// for VXLAN and 6081 for Geneve.
public struct CiliumConfiguration: Hashable, Sendable {
    public enum RoutingMode: String, Hashable, Sendable, CaseIterable {
        case tunnel
        case native
    }

    public enum TunnelProtocol: String, Hashable, Sendable, CaseIterable {
        case vxlan
        case geneve
    }

    public var configMap: ObjectReference
    public var location: ManifestLocation
    /// `routing-mode`, or what the older `tunnel` key implies (`disabled` is native routing).
    public var routingMode: RoutingMode
    /// `tunnel-protocol`, or the older `tunnel` key's protocol.
    public var tunnelProtocol: TunnelProtocol
    /// `tunnel-port` as written.
    public var writtenTunnelPort: UInt16?
    /// `mtu`; nil or 0 means detected from the underlay.
    public var mtu: Int?
    /// `cluster-pool-ipv4-cidr` (space separated in the ConfigMap).
    public var clusterPoolIPv4CIDRs: [CIDR]
    /// `cluster-pool-ipv4-mask-size`.
    public var clusterPoolIPv4MaskSize: Int?
    /// `ipam`: `cluster-pool`, `kubernetes`, ...
    public var ipam: String?

    public init(configMap: ObjectReference, location: ManifestLocation, routingMode: RoutingMode = .tunnel,
                tunnelProtocol: TunnelProtocol = .vxlan, writtenTunnelPort: UInt16? = nil, mtu: Int? = nil,
                clusterPoolIPv4CIDRs: [CIDR] = [], clusterPoolIPv4MaskSize: Int? = nil, ipam: String? = nil) {
        self.configMap = configMap
        self.location = location
        self.routingMode = routingMode
        self.tunnelProtocol = tunnelProtocol
        self.writtenTunnelPort = writtenTunnelPort
        self.mtu = mtu
        self.clusterPoolIPv4CIDRs = clusterPoolIPv4CIDRs
        self.clusterPoolIPv4MaskSize = clusterPoolIPv4MaskSize
        self.ipam = ipam
    }

    public var tunnelPort: UInt16 { writtenTunnelPort ?? (tunnelProtocol == .vxlan ? 8472 : 6081) }
}
