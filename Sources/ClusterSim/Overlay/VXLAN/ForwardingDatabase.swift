import PacketWire

/// The vxlan driver's forwarding database: which remote VTEP an inner destination MAC lives behind
/// (`bridge fdb show dev flannel.1`). Flannel programs a static entry for every remote node's VTEP MAC;
/// without entries (`fdb: learning`) the driver floods unknown unicast to every remote VTEP (head-end
/// replication) and learns each source MAC from what it decapsulates (drivers/net/vxlan/vxlan_core.c,
/// `vxlan_xmit`, `vxlan_snoop`).
struct ForwardingDatabase {
    let mode: FDBMode
    private var learned: [MACAddress: NodeID] = [:]

    init(mode: FDBMode) { self.mode = mode }

    /// Where a frame for the VTEP `destinationMAC` of node `owner` goes.
    enum Lookup {
        /// To one VTEP.
        case unicast(NodeID)
        /// Unknown in learning mode: a copy to every remote VTEP.
        case flood
    }

    func lookup(_ destinationMAC: MACAddress, owner: NodeID) -> Lookup {
        switch mode {
        case .static: return .unicast(owner)
        case .learning: return learned[destinationMAC].map(Lookup.unicast) ?? .flood
        }
    }

    /// Whether decapsulated frames teach it anything (learning mode).
    var learns: Bool { mode == .learning }

    /// Learning mode: a decapsulated frame's source MAC is behind the VTEP that sent it.
    mutating func learn(_ sourceMAC: MACAddress, behind node: NodeID) {
        guard mode == .learning else { return }
        learned[sourceMAC] = node
    }
}
