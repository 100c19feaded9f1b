/// How a Calico pool encapsulates traffic between nodes (`vxlanMode`, `ipipMode`).
public enum CalicoEncapsulationMode: String, Hashable, Sendable, CaseIterable {
    case always = "Always"
    /// Encapsulate only to nodes on another subnet (the subnet of `projectcalico.org/IPv4Address`).
    case crossSubnet = "CrossSubnet"
    case never = "Never"
}

/// A Calico IPPool (crd.projectcalico.org/v1 or projectcalico.org/v3): the pods' addresses and how traffic
/// between nodes is carried. Defaults from Calico's IPPool reference: blockSize 26 (IPv4) or 122 (IPv6),
/// vxlanMode and ipipMode Never.
public struct CalicoIPPool: Hashable, Sendable {
    public var metadata: ObjectMetadata
    public var cidr: CIDR
    /// `blockSize` as written.
    public var writtenBlockSize: Int?
    public var vxlanMode: CalicoEncapsulationMode
    public var ipipMode: CalicoEncapsulationMode
    public var natOutgoing: Bool
    public var disabled: Bool
    /// `nodeSelector` in Calico's selector syntax; nil means `all()`.
    public var nodeSelector: String?

    public init(metadata: ObjectMetadata, cidr: CIDR, writtenBlockSize: Int? = nil, vxlanMode: CalicoEncapsulationMode = .never,
                ipipMode: CalicoEncapsulationMode = .never, natOutgoing: Bool = false, disabled: Bool = false,
                nodeSelector: String? = nil) {
        self.metadata = metadata
        self.cidr = cidr
        self.writtenBlockSize = writtenBlockSize
        self.vxlanMode = vxlanMode
        self.ipipMode = ipipMode
        self.natOutgoing = natOutgoing
        self.disabled = disabled
        self.nodeSelector = nodeSelector
    }

    /// The prefix length of the blocks Calico's IPAM hands to nodes.
    public var blockSize: Int { writtenBlockSize ?? (cidr.isIPv6 ? 122 : 26) }

    public var reference: ObjectReference { ObjectReference(kind: "IPPool", namespace: nil, name: metadata.name) }
}

/// A Calico FelixConfiguration: the VXLAN device felix creates. `default` applies to every node,
/// `node.<name>` to one. Defaults from Calico's Felix configuration reference: port 4789, VNI 4096.
public struct FelixConfiguration: Hashable, Sendable {
    public var metadata: ObjectMetadata
    /// `vxlanEnabled`; nil leaves it to the pools (felix enables VXLAN when a pool uses it).
    public var vxlanEnabled: Bool?
    public var writtenVXLANPort: UInt16?
    public var writtenVXLANVNI: UInt32?
    /// `vxlanMTU`; nil or 0 lets felix detect it from the underlay (underlay MTU - 50).
    public var vxlanMTU: Int?
    /// `vxlanMTUV6`.
    public var vxlanMTUV6: Int?

    public init(metadata: ObjectMetadata, vxlanEnabled: Bool? = nil, writtenVXLANPort: UInt16? = nil,
                writtenVXLANVNI: UInt32? = nil, vxlanMTU: Int? = nil, vxlanMTUV6: Int? = nil) {
        self.metadata = metadata
        self.vxlanEnabled = vxlanEnabled
        self.writtenVXLANPort = writtenVXLANPort
        self.writtenVXLANVNI = writtenVXLANVNI
        self.vxlanMTU = vxlanMTU
        self.vxlanMTUV6 = vxlanMTUV6
    }

    public var vxlanPort: UInt16 { writtenVXLANPort ?? 4789 }
    public var vxlanVNI: UInt32 { writtenVXLANVNI ?? 4096 }

    public var reference: ObjectReference {
        ObjectReference(kind: "FelixConfiguration", namespace: nil, name: metadata.name)
    }
}

/// What the Tigera operator's Installation (operator.tigera.io/v1) or the manifest install's `calico-config`
/// ConfigMap (`veth_mtu`) says about the pod network.
public struct CalicoInstallation: Hashable, Sendable {
    /// The Installation or ConfigMap.
    public var source: ObjectReference
    public var location: ManifestLocation
    /// `spec.calicoNetwork.mtu` or `veth_mtu`; nil or 0 means detected.
    public var mtu: Int?
    /// `spec.calicoNetwork.ipPools`, as the pools the operator creates.
    public var ipPools: [CalicoIPPool]

    public init(source: ObjectReference, location: ManifestLocation, mtu: Int?, ipPools: [CalicoIPPool] = []) {
        self.source = source
        self.location = location
        self.mtu = mtu
        self.ipPools = ipPools
    }
}
