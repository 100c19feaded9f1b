import PacketWire
import VXLAN

/// One way of carrying pod frames between nodes over the underlay: VXLAN today (RFC 7348, as Linux's
/// vxlan driver does it); Geneve (RFC 8926) or WireGuard would be further modes. The node's overlay device
/// (`OverlayDevice`) does what every mode shares — the path-MTU check, the forwarding database, the capture
/// point — and asks its mode for the bytes.
protocol OverlayMode: AnyObject {
    /// Bytes the mode adds in front of an inner Ethernet frame (50 for VXLAN over IPv4, 70 over IPv6).
    var overhead: Int { get }
    /// The UDP ports the mode's packets use (receivers and firewalls recognise them by these).
    var ports: [UInt16] { get }
    /// The settings as the tool that configures them prints them (`ip -d link show` for VXLAN).
    var description: String { get }
    /// Prepends the outer headers to the inner frame in `buffer`, toward `destination`.
    /// - Parameters:
    ///   - groupPolicyID: a group policy identifier to carry, where the mode has one (VXLAN-GBP).
    ///   - flowHash: the packet's `skb->hash` from its socket, 0 when it has none (then the mode hashes
    ///     the inner flow, as `skb_get_hash` dissects it).
    ///   - tunnelKey: the VNI a BPF program chose for this packet on a device without one of its own
    ///     (Cilium's security identity); nil: the device's VNI.
    func encapsulate(_ buffer: PacketBuffer, to destination: TunnelDestination, groupPolicyID: UInt16,
                     flowHash: UInt32, tunnelKey: UInt32?) throws(EncapsulationError)
    /// Checks and strips the outer headers, leaving the inner frame in `buffer`.
    func decapsulate(_ buffer: PacketBuffer) throws(DecapsulationError) -> DecapsulatedPacket
}
