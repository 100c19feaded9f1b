import PacketWire
import VXLAN

/// VXLAN as the overlay mode: the node's `TunnelEndpoint`, configured with the scenario's `ip link ... type
/// vxlan` options, the node's underlay address and MAC, and a per-node flow-hash seed (Linux seeds its
/// source-port hash randomly at boot; here it comes from the scenario's seed so runs repeat).
final class VXLANMode: OverlayMode {
    private(set) var endpoint: TunnelEndpoint

    init(node: NodeSpec, index: Int, scenario: Scenario) {
        let overlay = scenario.overlay
        var configuration = TunnelConfiguration(
            vni: overlay.vni, local: node.address, destinationPort: overlay.destinationPort,
            sourcePortRange: overlay.sourcePortRange, ttl: overlay.ttl, tos: overlay.tos, df: overlay.df,
            udpChecksum: overlay.udpChecksum, groupBasedPolicy: overlay.groupBasedPolicy,
            underlaySourceMAC: node.underlayMAC ?? MACAddress(rawValue: 0x0200_0000_0000 | 0x0A_0000 | UInt64(index + 1)),
            flowHashSeed: UInt32(truncatingIfNeeded: scenario.seed &* 31 &+ UInt64(index)))
        configuration.udp6ZeroChecksumRx = false
        // Cilium makes `cilium_vxlan` with `external` (pkg/datapath/linux/devices, collect-metadata mode): no
        // VNI of its own; each packet's is the sender's security identity.
        configuration.collectMetadata = scenario.cni == .ciliumVXLAN
        // Linux starts each destination's IP ID counter at a random value; here it comes from the node's name.
        let initialID = UInt16(truncatingIfNeeded: stableHash(node.name) ^ scenario.seed)
        endpoint = TunnelEndpoint(configuration: configuration, initialIdentification: initialID)
    }

    var overhead: Int { endpoint.configuration.overhead }
    var ports: [UInt16] { [endpoint.configuration.destinationPort] }
    var description: String { endpoint.configuration.ipLinkDescription }

    /// A packet that carries its socket's hash gets the source port from it: drivers/net/vxlan/vxlan_core.c
    /// `vxlan_xmit_one` → `udp_flow_src_port`, whose `skb_get_hash` returns a hash already on the skb
    /// (`skb->l4_hash`, set from `sk_txhash`) before dissecting. Otherwise the endpoint hashes the inner flow.
    func encapsulate(_ buffer: PacketBuffer, to destination: TunnelDestination, groupPolicyID: UInt16,
                     flowHash: UInt32, tunnelKey: UInt32?) throws(EncapsulationError) {
        guard flowHash != 0 || tunnelKey != nil else {
            try endpoint.encapsulate(buffer, to: destination, groupPolicyID: groupPolicyID)
            return
        }
        let port = flowHash == 0 ? nil : FlowHash.sourcePort(hash: flowHash, range: endpoint.configuration.sourcePortRange)
        try endpoint.encapsulate(buffer, to: destination, groupPolicyID: groupPolicyID,
                                 overrides: EncapsulationOverrides(sourcePort: port, vni: tunnelKey))
    }

    func decapsulate(_ buffer: PacketBuffer) throws(DecapsulationError) -> DecapsulatedPacket {
        try endpoint.decapsulate(buffer)
    }
}
