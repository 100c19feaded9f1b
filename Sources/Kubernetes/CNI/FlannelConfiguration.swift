/// Flannel's network configuration: `net-conf.json` of the `kube-flannel-cfg` ConfigMap
/// (flannel pkg/subnet/config.go `Config`, pkg/backend/vxlan/vxlan.go `RegisterNetwork`).
///
/// Flannel decodes the JSON with Go's encoding/json, which matches field names without regard to case
/// (`"vni"` sets `VNI`); this reader does the same.
public struct FlannelConfiguration: Hashable, Sendable {
    /// The ConfigMap it came from.
    public var configMap: ObjectReference
    public var location: ManifestLocation
    /// `Network`: the cluster's pod network.
    public var network: CIDR?
    /// `IPv6Network`.
    public var ipv6Network: CIDR?
    /// `EnableIPv4`, default true.
    public var enableIPv4: Bool
    /// `EnableIPv6`, default false.
    public var enableIPv6: Bool
    /// `SubnetLen` as written; nil when left out.
    public var writtenSubnetLength: Int?
    public var backend: Backend

    public struct Backend: Hashable, Sendable {
        /// `Type`. Flannel's own default, with no `Backend` at all, is `udp`; with a `Backend` and no `Type`
        /// it is empty, which flannel refuses.
        public var type: String
        /// `VNI` as written; nil when left out.
        public var writtenVNI: UInt32?
        /// `Port` as written; nil (or 0) leaves the choice to the kernel.
        public var writtenPort: UInt16?
        /// `GBP`: VXLAN Group Based Policy extension.
        public var gbp: Bool
        /// `DirectRouting`: nodes on one subnet route pod traffic without VXLAN.
        public var directRouting: Bool
        /// `MTU` as written; nil means the underlay interface's.
        public var mtu: Int?
        /// `Learning`: the vxlan device learns source MACs.
        public var learning: Bool

        public init(type: String, writtenVNI: UInt32? = nil, writtenPort: UInt16? = nil, gbp: Bool = false,
                    directRouting: Bool = false, mtu: Int? = nil, learning: Bool = false) {
            self.type = type
            self.writtenVNI = writtenVNI
            self.writtenPort = writtenPort
            self.gbp = gbp
            self.directRouting = directRouting
            self.mtu = mtu
            self.learning = learning
        }

        /// The VNI flannel uses: `defaultVNI = 1` (pkg/backend/vxlan/vxlan.go).
        public var vni: UInt32 { writtenVNI ?? 1 }

        /// The UDP port: flannel passes `Port` 0 to netlink, and the Linux vxlan driver then uses its
        /// compiled-in default 8472 (drivers/net/vxlan, `vxlan_port` module parameter), not IANA's 4789.
        public var port: UInt16 {
            if let written = writtenPort, written != 0 { return written }
            return 8472
        }
    }

    public init(configMap: ObjectReference, location: ManifestLocation, network: CIDR?, ipv6Network: CIDR? = nil,
                enableIPv4: Bool = true, enableIPv6: Bool = false, writtenSubnetLength: Int? = nil, backend: Backend) {
        self.configMap = configMap
        self.location = location
        self.network = network
        self.ipv6Network = ipv6Network
        self.enableIPv4 = enableIPv4
        self.enableIPv6 = enableIPv6
        self.writtenSubnetLength = writtenSubnetLength
        self.backend = backend
    }

    /// The prefix length of each node's subnet: `SubnetLen`, or flannel's default (pkg/subnet/config.go
    /// `CheckNetworkConfig`): /24 when the network is /22 or larger, otherwise the network's length + 2.
    public var subnetLength: Int? {
        if let written = writtenSubnetLength, written > 0 { return written }
        guard let network else { return nil }
        return network.length <= 22 ? 24 : network.length + 2
    }
}
