import PacketWire

/// A pod as the control plane knows it now.
public struct Pod: Hashable, Sendable {
    public var id: PodID
    public var name: String
    public var workload: String
    public var kind: WorkloadKind
    public var node: NodeID
    public var address: IPv4Address
    public var mac: MACAddress
    public var labels: [String: String]
    /// Virtual time from which the pod runs and is a Service endpoint (StatefulSets start in order).
    public var readyAt: Nanoseconds
    public var deleted = false
}

/// The cluster's control plane: nodes and their IPAM, workloads and the pods their controllers keep, and
/// where each pod runs. Changes only through its methods, which the simulation calls at event times; the
/// dataplane reads it to find a pod by address. A class: one instance, read in place on the packet path.
public final class Cluster {
    public let nodes: [NodeSpec]
    public private(set) var pods: [Pod] = []
    private var ipam: [HostLocalIPAM]
    private var podByName: [String: PodID] = [:]
    private var podByAddress = IPv4AddressTable<PodID>()
    let seed: UInt64
    /// Per Deployment: pods created so far, for new names.
    private var deploymentCounters: [String: Int] = [:]
    /// StatefulSet pods keep their node and address across replacement (sticky IPAM).
    private var stickyAddresses: [String: (node: NodeID, address: IPv4Address)] = [:]
    let workloads: [WorkloadSpec]
    private var scheduler: PodScheduler
    /// When every pod CIDR has the same length (as Kubernetes' node IPAM gives them), the node owning an
    /// address is one dictionary lookup on its network bits instead of a scan of every node.
    private let uniformPrefixLength: Int?
    private let nodeByPrefix: IPv4AddressTable<NodeID>
    /// The answers of ``pods(matching:at:)``, kept until the pods change: kube-proxy asks for a Service's
    /// endpoints at every new flow, and filtering and sorting 4,900 pods by name each time was a tenth of
    /// large-100-nodes. An answer holds for the times between the latest start among the pods it lists and
    /// the earliest start among the matching pods not yet running. Pods are made and deleted only by the
    /// methods below, which empty the cache; a pod's labels never change.
    private var selections: [LabelSelector: Selection] = [:]
    private struct Selection {
        let pods: [PodID]
        /// The answer holds from this time...
        let from: Nanoseconds
        /// ...until just before this one (nil: for ever).
        let until: Nanoseconds?
        func holds(at time: Nanoseconds) -> Bool { from <= time && until.map { time < $0 } ?? true }
    }

    /// Delay between a StatefulSet's pods becoming ready (OrderedReady), and before a replacement runs.
    public static let orderedStartInterval: Nanoseconds = 1_000_000
    public static let replacementDelay: Nanoseconds = 2_000_000

    init(scenario: Scenario) throws(ScenarioError) {
        seed = scenario.seed
        workloads = scenario.workloads
        nodes = scenario.nodes
        ipam = scenario.nodes.map { HostLocalIPAM(prefix: $0.podCIDR) }
        scheduler = PodScheduler(nodes: scenario.nodes)
        let lengths = Set(scenario.nodes.map(\.podCIDR.length))
        uniformPrefixLength = lengths.count == 1 ? lengths.first.flatMap { $0 > 0 ? $0 : nil } : nil
        // Keyed by the network bits, shifted down (a table of addresses, used as a table of numbers).
        var byPrefix = IPv4AddressTable<NodeID>()
        if let length = uniformPrefixLength {
            for (index, node) in scenario.nodes.enumerated() {
                byPrefix[IPv4Address(rawValue: node.podCIDR.ipv4Network.rawValue >> UInt32(32 - length))] = NodeID(index)
            }
        }
        nodeByPrefix = byPrefix
        for workload in scenario.workloads {
            switch workload.kind {
            case .pod:
                guard let node = scenario.nodes.firstIndex(where: { $0.name == workload.nodes.first }) else {
                    throw ScenarioError(workload.location, "pod '\(workload.name)' names no node that exists", code: .unknownReference)
                }
                try addPod(name: workload.name, workload: workload, node: NodeID(node), readyAt: 0)
            case .deployment:
                for _ in 0..<workload.replicas { try addDeploymentPod(workload, readyAt: 0) }
            case .statefulSet:
                for ordinal in 0..<workload.replicas {
                    try addPod(name: "\(workload.name)-\(ordinal)", workload: workload,
                               node: scheduler.node(for: workload), readyAt: Nanoseconds(ordinal) * Self.orderedStartInterval)
                }
            case .daemonSet:
                for node in scenario.nodes.indices {
                    try addPod(name: "\(workload.name)-\(scenario.nodes[node].name)", workload: workload, node: NodeID(node), readyAt: 0)
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

    public subscript(pod: PodID) -> Pod { pods[pod.index] }

    // One field of a pod, read in place: the packet path reads these, and `self[pod].field` copied the
    // whole Pod (its names and labels: four retains and four releases) to read one.
    @inline(__always)
    func isDeleted(_ pod: PodID) -> Bool { pods[pod.index].deleted }
    @inline(__always)
    func node(of pod: PodID) -> NodeID { pods[pod.index].node }
    @inline(__always)
    func readyAt(_ pod: PodID) -> Nanoseconds { pods[pod.index].readyAt }
    @inline(__always)
    func mac(of pod: PodID) -> MACAddress { pods[pod.index].mac }
    @inline(__always)
    func address(of pod: PodID) -> IPv4Address { pods[pod.index].address }

    /// The live pod of that name.
    public func pod(named name: String) -> PodID? { podByName[name] }
    /// The live pod holding that address.
    @inline(__always)
    public func pod(at address: IPv4Address) -> PodID? { podByAddress[address] }
    public var livePods: [Pod] { pods.filter { !$0.deleted } }

    /// Pods matching `selector` that are running at `time`, in name order.
    public func pods(matching selector: LabelSelector, at time: Nanoseconds) -> [PodID] {
        if let known = selections[selector], known.holds(at: time) { return known.pods }
        var running: [Int] = []
        var from: Nanoseconds = 0
        var until: Nanoseconds?
        for index in pods.indices where !pods[index].deleted && selector.matches(pods[index].labels) {
            let readyAt = pods[index].readyAt
            if readyAt <= time {
                running.append(index)
                from = max(from, readyAt)
            } else {
                until = min(until ?? readyAt, readyAt)
            }
        }
        let answer = running.sorted { pods[$0].name < pods[$1].name }.map(PodID.init)
        selections[selector] = Selection(pods: answer, from: from, until: until)
        return answer
    }

    /// The node whose pod CIDR holds `address`.
    @inline(__always)
    public func node(owning address: IPv4Address) -> NodeID? {
        if let prefixLength = uniformPrefixLength {
            return nodeByPrefix[IPv4Address(rawValue: address.rawValue >> UInt32(32 - prefixLength))]
        }
        return nodes.firstIndex { $0.podCIDR.contains(address) }.map(NodeID.init)
    }

    /// Deletes a pod and creates its replacement, as the workload's controller would. Returns the
    /// replacement (nil for a bare pod).
    func deletePod(_ id: PodID, at time: Nanoseconds) throws(ScenarioError) -> PodID? {
        guard !pods[id.index].deleted else { return nil }
        let pod = pods[id.index]
        pods[id.index].deleted = true
        selections.removeAll()
        scheduler.removed(from: pod.node)
        podByName[pod.name] = nil
        podByAddress[pod.address] = nil
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
    private func addDeploymentPod(_ workload: WorkloadSpec, readyAt: Nanoseconds) throws(ScenarioError) -> PodID {
        let ordinal = deploymentCounters[workload.name, default: 0]
        deploymentCounters[workload.name] = ordinal + 1
        return try addPod(name: Self.deploymentPodName(workload.name, seed: seed, ordinal: ordinal), workload: workload,
                          node: scheduler.node(for: workload), readyAt: readyAt)
    }

    @discardableResult
    private func addPod(name: String, workload: WorkloadSpec, node: NodeID, readyAt: Nanoseconds) throws(ScenarioError) -> PodID {
        let address: IPv4Address
        let placedNode: NodeID
        if workload.kind == .pod, let given = workload.address {
            // The address the cluster gave the pod (its manifest's status.podIP).
            guard podByAddress[given] == nil else {
                throw ScenarioError(workload.location, "pod '\(name)' has address \(given), which another pod already has")
            }
            address = given
            placedNode = node
        } else if workload.kind == .statefulSet, let sticky = stickyAddresses[name] {
            address = sticky.address
            placedNode = sticky.node
        } else {
            placedNode = node
            let byAddress = podByAddress
            guard let free = ipam[node.index].allocate(inUse: { byAddress[$0] != nil }, sticky: workload.kind == .statefulSet) else {
                throw ScenarioError(workload.location, "podCIDR \(ipam[node.index].prefix) of node '\(nodes[node.index].name)' has no free address for pod '\(name)'", code: .conflict)
            }
            address = free
            if workload.kind == .statefulSet { stickyAddresses[name] = (node, address) }
        }
        let id = PodID(pods.count)
        // The pod's eth0 MAC as the bridge CNI plugin derives it from the address (0a:58 + the IPv4 address).
        let mac = MACAddress(rawValue: 0x0A58_0000_0000 | UInt64(address.rawValue))
        scheduler.placed(on: placedNode)
        selections.removeAll()
        pods.append(Pod(id: id, name: name, workload: workload.name, kind: workload.kind, node: placedNode, address: address,
                        mac: mac, labels: workload.labels, readyAt: readyAt))
        podByName[name] = id
        podByAddress[address] = id
        return id
    }
}

/// FNV-1a over a string: a hash that is the same in every process (Swift's `hashValue` is seeded per run).
func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}
