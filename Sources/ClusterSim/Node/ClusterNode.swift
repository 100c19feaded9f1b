import PacketWire
import VXLAN

/// A Kubernetes node as Linux builds one for Flannel: an underlay interface (eth0), a `cni0` bridge that
/// the pods' veths hang off, a VTEP device (`flannel.1`), an IP stack that routes between them with
/// netfilter's hooks on the way, and kube-proxy's Service NAT at those hooks. One object per node, holding
/// all of that node's state.
final class ClusterNode {
    let id: NodeID
    let spec: NodeSpec
    var name: String { spec.name }
    /// The underlay interface's address and MAC.
    var underlayAddress: IPAddress { spec.address }
    let underlayMAC: MACAddress
    /// The `cni0` bridge's MAC and address (the pod CIDR's first host, the pods' default gateway).
    let gatewayMAC: MACAddress
    var gatewayAddress: IPv4Address { Self.gatewayAddress(of: spec) }
    /// The VTEP: its MAC (Flannel's `flannel.1`, advertised in the node's `backend-data` annotation), its
    /// overlay address (the pod CIDR's network address), and its tunnel endpoint and forwarding database.
    let overlay: OverlayDevice
    /// The path MTU toward other nodes' underlay addresses, as learned from ICMP (route exceptions on
    /// the outer routes).
    var pathMTU = PathMTUCache()
    /// The path MTU the vxlan driver set on the inner route toward each other node's pod CIDR (the route
    /// via `flannel.1`) when an inner packet did not fit the outer path (drivers/net/vxlan/vxlan_core.c
    /// `vxlan_xmit_one` → net/ipv4/ip_tunnel_core.c `skb_tunnel_check_pmtu` →
    /// `skb_dst_update_pmtu_no_confirm`). Forwarding reads it only with `ip_forward_use_pmtu=1`.
    var innerPathMTU = PathMTUCache()
    /// `flannel.1`'s MTU: Flannel sets it to the uplink's MTU less the encapsulation (flannel
    /// pkg/backend/vxlan `newVXLANDevice`: `MTU: extIface.MTU - encapOverhead`), whatever the pods' MTU.
    let vtepMTU: Int
    /// Redirects sent to each local pod: how many, and when the last was (net/ipv4/route.c
    /// `ip_rt_send_redirect` keeps them in the peer's `n_redirects` and `rate_last`).
    var redirects: [IPv4Address: RedirectState] = [:]
    struct RedirectState {
        var count = 0
        var last: Nanoseconds = 0
    }
    /// The IP layer's reassembly of outer fragments (and of Service-bound inner fragments, for conntrack).
    var reassembly: HostReassembly
    /// kube-proxy on this node.
    let kubeProxy: KubeProxy
    /// What runs at each netfilter hook: kube-proxy's NAT, the host firewall's chains.
    let hooks = NetfilterHooks()
    // The network owns this part and outlives it. Its parts are reached through it only off the packet
    // path: `network.cluster` and the like retained and released the part at each use (an unowned
    // reference is turned into a strong one per use), so the packet path holds the parts it needs
    // itself, below, where a read is a plain load.
    unowned(unsafe) let network: Network
    /// The network for the calls the packet path makes into it (sending on the underlay), uncounted.
    let unretainedNetwork: Unretained<Network>
    /// The parts of the network the packet path uses, held directly (see `network`).
    let cluster: Cluster
    let services: ServiceTable
    let scheduler: Scheduler
    let pool: BufferPool
    let observers: Observers
    let underlay: Underlay
    let firewalls: FirewallPlan
    /// The scenario's settings the packet path reads.
    let settings: DataplaneSettings
    /// The VXLAN overhead on this underlay (50 bytes over IPv4, 70 over IPv6).
    let overhead: Int
    /// The security group on the node's underlay interface, if it has one.
    let securityGroup: FirewallID?

    init(id: NodeID, spec: NodeSpec, network: Network, mode: any OverlayMode) {
        self.id = id
        self.spec = spec
        self.network = network
        unretainedNetwork = Unretained(network)
        cluster = network.cluster
        services = network.services
        scheduler = network.scheduler
        pool = network.pool
        observers = network.observers
        underlay = network.underlay
        firewalls = network.firewalls
        settings = network.settings
        overhead = network.overhead
        securityGroup = network.firewalls.securityGroup(of: id)
        let serial = UInt64(id.index + 1)
        let uplink = network.scenario.links.first { $0.a == spec.name || $0.b == spec.name }?.mtu ?? 1500
        vtepMTU = uplink - network.overhead
        underlayMAC = Self.underlayMAC(of: spec, id: id)
        gatewayMAC = MACAddress(rawValue: 0x0200_0000_0000 | 0xC0_0000 | serial)
        // The cluster's own VTEP MAC and address when its Node objects say them (Flannel's and Calico's annotations).
        let vtepMAC = spec.vtepMAC ?? MACAddress(rawValue: 0x0200_0000_0000 | 0xAA_0000 | serial)
        // Routed (Flannel): pod frames are addressed VTEP to VTEP (the neighbour entry for the remote
        // `flannel.1`); bridged: the vxlan device is a port of cni0 and frames keep cni0's MACs.
        let bridged = network.settings.bridgedVTEP
        overlay = OverlayDevice(mode: mode, vtepMAC: vtepMAC, innerMAC: bridged ? gatewayMAC : vtepMAC,
                                vtepAddress: spec.vtepAddress ?? spec.podCIDR.ipv4Network, fdb: ForwardingDatabase(mode: network.scenario.overlay.fdb),
                                groupBasedPolicy: network.groupBasedPolicy)
        reassembly = HostReassembly(timeout: network.scenario.sysctls.ipFragmentTime)
        kubeProxy = KubeProxy()
        hooks.register(kubeProxy, at: .prerouting)
        hooks.register(kubeProxy, at: .output)
    }

    /// The underlay interface's MAC: the cluster's own when its Node objects say it, else one made from
    /// the node's index.
    static func underlayMAC(of spec: NodeSpec, id: NodeID) -> MACAddress {
        spec.underlayMAC ?? MACAddress(rawValue: 0x0200_0000_0000 | 0x0A_0000 | UInt64(id.index + 1))
    }

    /// cni0's address: the pod CIDR's first host.
    static func gatewayAddress(of spec: NodeSpec) -> IPv4Address { spec.podCIDR.ipv4Address(1) }

    /// The node's place on the underlay (its underlay interface).
    var place: PlaceID { PlaceID(id) }

    /// Where the report says a packet was dropped in this node's IP layer.
    var routingPoint: String { "\(name) routing" }
}
