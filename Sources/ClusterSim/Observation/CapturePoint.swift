/// Where a frame is seen as it passes, as tcpdump on an interface would see it.
enum CapturePoint {
    /// A pod's eth0 (both directions).
    case pod(PodID)
    /// A node's VTEP device (flannel.1): inner frames, before encapsulation and after decapsulation.
    case vtep(NodeID)
    /// A node's underlay interface (eth0): outer packets.
    case underlay(NodeID)
}
