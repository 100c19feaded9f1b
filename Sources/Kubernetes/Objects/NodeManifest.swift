import PacketWire

/// A v1 Node: its addresses, pod CIDRs and what Flannel and Calico wrote in its annotations, so frames can
/// carry the cluster's real VTEP addresses and MACs.
public struct NodeManifest: Hashable, Sendable {
    public var metadata: ObjectMetadata
    /// `status.addresses`, in order.
    public var addresses: [NodeAddress]
    /// `spec.podCIDRs` (or `spec.podCIDR`): the blocks the node's pods are addressed from.
    public var podCIDRs: [CIDR]
    /// What Flannel recorded about the node; nil when no `flannel.alpha.coreos.com/` annotation is present.
    public var flannel: FlannelNodeAnnotations?
    /// What Calico recorded about the node; nil when no `projectcalico.org/` annotation this reader knows is present.
    public var calico: CalicoNodeAnnotations?

    public init(metadata: ObjectMetadata, addresses: [NodeAddress] = [], podCIDRs: [CIDR] = [],
                flannel: FlannelNodeAnnotations? = nil, calico: CalicoNodeAnnotations? = nil) {
        self.metadata = metadata
        self.addresses = addresses
        self.podCIDRs = podCIDRs
        self.flannel = flannel
        self.calico = calico
    }

    public var reference: ObjectReference { ObjectReference(kind: "Node", namespace: nil, name: metadata.name) }

    /// The first `InternalIP`: the address kubelet and CNIs use between nodes.
    public var internalAddress: IPAddress? {
        addresses.first { $0.type == "InternalIP" }.flatMap { IPAddress($0.address) }
    }

    /// The first `ExternalIP`.
    public var externalAddress: IPAddress? {
        addresses.first { $0.type == "ExternalIP" }.flatMap { IPAddress($0.address) }
    }
}

/// One `status.addresses[]` entry: `InternalIP`, `ExternalIP`, `Hostname`, `InternalDNS`, `ExternalDNS`.
public struct NodeAddress: Hashable, Sendable {
    public var type: String
    /// Text: an IP address for the IP types, a name for the others.
    public var address: String

    public init(type: String, address: String) {
        self.type = type
        self.address = address
    }
}

/// Flannel's node annotations (flannel pkg/subnet/kube: `backend-type`, `backend-data`, `public-ip`).
public struct FlannelNodeAnnotations: Hashable, Sendable {
    /// `flannel.alpha.coreos.com/backend-type`: `vxlan`, `host-gw`, `wireguard`, ...
    public var backendType: String?
    /// `flannel.alpha.coreos.com/public-ip`: the node's VTEP address on the underlay.
    public var publicIP: IPAddress?
    /// `VtepMAC` of `flannel.alpha.coreos.com/backend-data`: the MAC of the node's `flannel.<VNI>` device.
    public var vtepMAC: MACAddress?
    /// `VNI` of `backend-data`.
    public var vni: UInt32?

    public init(backendType: String? = nil, publicIP: IPAddress? = nil, vtepMAC: MACAddress? = nil, vni: UInt32? = nil) {
        self.backendType = backendType
        self.publicIP = publicIP
        self.vtepMAC = vtepMAC
        self.vni = vni
    }
}

/// Calico's node annotations (written by calico-node from its Node resource).
public struct CalicoNodeAnnotations: Hashable, Sendable {
    /// `projectcalico.org/IPv4Address`: the node's address with its subnet (what CrossSubnet compares).
    public var ipv4Address: InterfaceAddress?
    /// `projectcalico.org/IPv4VXLANTunnelAddr`: the address of the node's `vxlan.calico` device.
    public var vxlanTunnelAddress: IPAddress?
    /// `projectcalico.org/VXLANTunnelMACAddr`: the MAC of `vxlan.calico`.
    public var vxlanTunnelMAC: MACAddress?

    public init(ipv4Address: InterfaceAddress? = nil, vxlanTunnelAddress: IPAddress? = nil, vxlanTunnelMAC: MACAddress? = nil) {
        self.ipv4Address = ipv4Address
        self.vxlanTunnelAddress = vxlanTunnelAddress
        self.vxlanTunnelMAC = vxlanTunnelMAC
    }
}
