import PacketWire
import VXLAN

/// A pod as the cluster knows it now.
public struct Pod: Hashable, Sendable {
    public var name: String
    public var workload: String
    public var kind: WorkloadKind
    public var node: Int
    public var address: IPv4Address
    public var mac: MACAddress
    public var labels: [String: String]
    /// Virtual time from which the pod runs and is a Service endpoint (StatefulSets start in order).
    public var readyAt: Nanoseconds
    public var deleted = false
}

/// The cluster's control-plane state: nodes, pods and where they run, and Service endpoints. Changes
/// only through its methods, which the engine calls at event times.
public struct Cluster: Sendable {
    public struct NodeInfo: Sendable {
        public var spec: NodeSpec
        /// The VTEP device's MAC (Flannel's flannel.1) and its overlay address (the pod CIDR's network address).
        public var vtepMAC: MACAddress
        public var vtepAddress: IPv4Address
        /// MAC of the underlay interface.
        public var underlayMAC: MACAddress
        /// MAC of the pod-facing gateway (the cni0 bridge).
        public var gatewayMAC: MACAddress
        /// Next host index host-local IPAM hands out: it walks forward and does not reuse a freed address
        /// at once, so a replaced Deployment pod gets a new address.
        var nextHostIndex: UInt32 = 2
        var reserved: Set<UInt32> = []
    }

    public private(set) var nodes: [NodeInfo]
    public private(set) var pods: [Pod] = []
    var podIndexByName: [String: Int] = [:]
    var podIndexByAddress: [IPv4Address: Int] = [:]
    let seed: UInt64
    /// Per Deployment: pods created so far, for new names.
    var deploymentCounters: [String: Int] = [:]
    /// StatefulSet pods keep their address across replacement (sticky IPAM).
    var stickyAddresses: [String: (node: Int, address: IPv4Address)] = [:]
    let workloads: [WorkloadSpec]
    /// Live pods per node, for scheduling without counting every pod each time.
    var livePodsPerNode: [Int]
    /// When every pod CIDR has the same length (as Kubernetes' node IPAM gives them), the node owning an
    /// address is one dictionary lookup on its network bits instead of a scan of every node.
    let uniformPrefixLength: Int?
    let nodeByPrefix: [UInt32: Int]

    /// Delay between a StatefulSet's pods becoming ready (OrderedReady), and before a replacement runs.
    public static let orderedStartInterval: Nanoseconds = 1_000_000
    public static let replacementDelay: Nanoseconds = 2_000_000

    init(scenario: Scenario) throws(ScenarioError) {
        seed = scenario.seed
        workloads = scenario.workloads
        livePodsPerNode = Array(repeating: 0, count: scenario.nodes.count)
        let lengths = Set(scenario.nodes.map(\.podCIDR.length))
        uniformPrefixLength = lengths.count == 1 ? lengths.first.flatMap { $0 > 0 ? $0 : nil } : nil
        var byPrefix: [UInt32: Int] = [:]
        if let length = uniformPrefixLength {
            for (index, node) in scenario.nodes.enumerated() { byPrefix[node.podCIDR.network.rawValue >> UInt32(32 - length)] = index }
        }
        nodeByPrefix = byPrefix
        nodes = scenario.nodes.enumerated().map { index, spec in
            let id = UInt64(index + 1)
            return NodeInfo(spec: spec,
                            vtepMAC: MACAddress(rawValue: 0x0200_0000_0000 | 0xAA_0000 | id),
                            vtepAddress: spec.podCIDR.network,
                            underlayMAC: MACAddress(rawValue: 0x0200_0000_0000 | 0x0A_0000 | id),
                            gatewayMAC: MACAddress(rawValue: 0x0200_0000_0000 | 0xC0_0000 | id))
        }
        for workload in scenario.workloads {
            switch workload.kind {
            case .pod:
                let node = nodes.firstIndex { $0.spec.name == workload.nodes[0] }!
                try addPod(name: workload.name, workload: workload, node: node, readyAt: 0)
            case .deployment:
                for _ in 0..<workload.replicas { try addDeploymentPod(workload, readyAt: 0) }
            case .statefulSet:
                for ordinal in 0..<workload.replicas {
                    try addPod(name: "\(workload.name)-\(ordinal)", workload: workload,
                               node: scheduleNode(for: workload), readyAt: Nanoseconds(ordinal) * Self.orderedStartInterval)
                }
            case .daemonSet:
                for node in nodes.indices {
                    try addPod(name: "\(workload.name)-\(nodes[node].spec.name)", workload: workload, node: node, readyAt: 0)
                }
            }
        }
    }

    /// Kubernetes-style Deployment pod name: `NAME-<template hash>-<5 characters>`, derived from the seed
    /// so runs repeat.
    public static func deploymentPodName(_ deployment: String, seed: UInt64, ordinal: Int) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        var template = SplitMix64(seed: seed ^ stableHash(deployment))
        let hash = String(template.next() % 0xFFFF_FFFF, radix: 16)
        var random = SplitMix64(seed: seed ^ stableHash(deployment) &+ UInt64(ordinal + 1) &* 0x9E37_79B9)
        let suffix = String((0..<5).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
        return "\(deployment)-\(hash.prefix(9))-\(suffix)"
    }

    public func pod(named name: String) -> Pod? { podIndexByName[name].map { pods[$0] } }
    public func podIndex(named name: String) -> Int? { podIndexByName[name] }
    public func podIndex(at address: IPv4Address) -> Int? { podIndexByAddress[address] }
    public var livePods: [Pod] { pods.filter { !$0.deleted } }

    /// Pods matching `selector` that are running at `time`, in name order.
    public func pods(matching selector: LabelSelector, at time: Nanoseconds) -> [Int] {
        pods.indices.filter { !pods[$0].deleted && pods[$0].readyAt <= time && selector.matches(pods[$0].labels) }
            .sorted { pods[$0].name < pods[$1].name }
    }

    /// The node whose pod CIDR holds `address`.
    public func node(owning address: IPv4Address) -> Int? {
        if let prefixLength = uniformPrefixLength {
            return nodeByPrefix[address.rawValue >> UInt32(32 - prefixLength)]
        }
        return nodes.firstIndex { $0.spec.podCIDR.contains(address) }
    }

    /// Deletes a pod and creates its replacement, as the workload's controller would. Returns the
    /// replacement's index (nil for a bare pod).
    mutating func deletePod(named name: String, at time: Nanoseconds) throws(ScenarioError) -> Int? {
        guard let index = podIndexByName[name], !pods[index].deleted else { return nil }
        let pod = pods[index]
        pods[index].deleted = true
        livePodsPerNode[pod.node] -= 1
        podIndexByName[name] = nil
        podIndexByAddress[pod.address] = nil
        guard let workload = workloads.first(where: { $0.name == pod.workload }) else { return nil }
        switch workload.kind {
        case .pod:
            return nil
        case .deployment:
            return try addDeploymentPod(workload, readyAt: time + Self.replacementDelay)
        case .statefulSet, .daemonSet:
            return try addPod(name: pod.name, workload: workload, node: pod.node, readyAt: time + Self.replacementDelay)
        }
    }

    @discardableResult
    private mutating func addDeploymentPod(_ workload: WorkloadSpec, readyAt: Nanoseconds) throws(ScenarioError) -> Int {
        let ordinal = deploymentCounters[workload.name, default: 0]
        deploymentCounters[workload.name] = ordinal + 1
        return try addPod(name: Self.deploymentPodName(workload.name, seed: seed, ordinal: ordinal), workload: workload,
                          node: scheduleNode(for: workload), readyAt: readyAt)
    }

    /// The allowed node with the fewest live pods; ties go to the first in scenario order.
    private func scheduleNode(for workload: WorkloadSpec) -> Int {
        let allowed = workload.nodes.isEmpty ? Array(nodes.indices)
            : nodes.indices.filter { workload.nodes.contains(nodes[$0].spec.name) }
        return allowed.min { (livePodsPerNode[$0], $0) < (livePodsPerNode[$1], $1) } ?? 0
    }

    @discardableResult
    private mutating func addPod(name: String, workload: WorkloadSpec, node: Int, readyAt: Nanoseconds) throws(ScenarioError) -> Int {
        let address: IPv4Address
        let placedNode: Int
        if workload.kind == .statefulSet, let sticky = stickyAddresses[name] {
            address = sticky.address
            placedNode = sticky.node
        } else {
            placedNode = node
            address = try allocateAddress(on: node, for: name, workload: workload)
            if workload.kind == .statefulSet { stickyAddresses[name] = (node, address) }
        }
        let index = pods.count
        let mac = MACAddress(rawValue: 0x0A58_0000_0000 | UInt64(address.rawValue))
        livePodsPerNode[placedNode] += 1
        pods.append(Pod(name: name, workload: workload.name, kind: workload.kind, node: placedNode, address: address,
                        mac: mac, labels: workload.labels, readyAt: readyAt))
        podIndexByName[name] = index
        podIndexByAddress[address] = index
        return index
    }

    private mutating func allocateAddress(on node: Int, for pod: String, workload: WorkloadSpec) throws(ScenarioError) -> IPv4Address {
        let prefix = nodes[node].spec.podCIDR
        let usable = UInt32(prefix.size - 1)
        for _ in 2..<max(usable, 3) {
            let candidate = nodes[node].nextHostIndex
            nodes[node].nextHostIndex = candidate + 1 >= usable ? 2 : candidate + 1
            let address = prefix.address(candidate)
            if podIndexByAddress[address] == nil && !nodes[node].reserved.contains(candidate) {
                if workload.kind == .statefulSet { nodes[node].reserved.insert(candidate) }
                return address
            }
        }
        throw ScenarioError(workload.location, "podCIDR \(prefix) of node '\(nodes[node].spec.name)' has no free address for pod '\(pod)'")
    }
}

/// FNV-1a over a string: a hash that is the same in every process (Swift's `hashValue` is seeded per run).
func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}

