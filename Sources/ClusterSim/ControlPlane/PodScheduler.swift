/// Where a workload's next pod runs: the allowed node with the fewest live pods, ties to the first in
/// scenario order (kube-scheduler's least-allocated spreading, reduced to pod counts).
struct PodScheduler {
    private let names: [String]
    /// Live pods per node, kept as pods come and go, so scheduling never counts every pod.
    private var livePods: [Int]

    init(nodes: [NodeSpec]) {
        names = nodes.map(\.name)
        livePods = Array(repeating: 0, count: nodes.count)
    }

    func node(for workload: WorkloadSpec) -> NodeID {
        let allowed = workload.nodes.isEmpty ? Array(names.indices) : names.indices.filter { workload.nodes.contains(names[$0]) }
        return NodeID(allowed.min { (livePods[$0], $0) < (livePods[$1], $1) } ?? 0)
    }

    mutating func placed(on node: NodeID) { livePods[node.index] += 1 }
    mutating func removed(from node: NodeID) { livePods[node.index] -= 1 }
}
