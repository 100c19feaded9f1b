/// What a node has learned of the path MTU toward each other node, as Linux keeps it in a route
/// exception (`ip route get` shows `mtu`) after an ICMP fragmentation needed (net/ipv4/route.c
/// `__ip_rt_update_pmtu`). Absent means: the MTU of the node's own uplink toward it.
struct PathMTUCache {
    private var learned: [NodeID: Int] = [:]

    /// (An empty cache, the usual case, answers without hashing.)
    func mtu(toward node: NodeID) -> Int? { learned.isEmpty ? nil : learned[node] }

    /// Keeps the smaller of what is known and what was learned.
    mutating func learn(_ mtu: Int, toward node: NodeID, current: Int) {
        learned[node] = min(mtu, current)
    }
}
