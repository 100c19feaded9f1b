import Firewall
import PacketWire

/// The scenario's firewalls placed on the path: a host firewall per node, a security group per node's
/// interface, and the middleboxes on each direction of each link. With no firewalls every list is
/// empty and the dataplane pays one array read per hook. A class: read per packet without copying, and
/// fixed once built.
final class FirewallPlan {
    private(set) var devices: [FirewallDevice] = []
    private(set) var specs: [FirewallSpec] = []
    private var hostByNode: [FirewallID?]
    private var groupByNode: [FirewallID?]
    /// Middleboxes on each link direction, in scenario order, and whether that direction leaves the
    /// link's first end (a NAT's inside).
    private var boxesByDirection: [[(device: FirewallID, outbound: Bool)]]
    /// Whether a direction has any middlebox: read per packet instead of the list.
    private var directionHasBoxes: [Bool]

    init(scenario: Scenario, underlay: Underlay, names: AddressBook) {
        hostByNode = Array(repeating: nil, count: scenario.nodes.count)
        groupByNode = Array(repeating: nil, count: scenario.nodes.count)
        boxesByDirection = Array(repeating: [], count: underlay.directions.count)
        directionHasBoxes = Array(repeating: false, count: underlay.directions.count)
        defer { directionHasBoxes = boxesByDirection.map { !$0.isEmpty } }
        guard !scenario.firewalls.isEmpty else { return }
        var nodeByName: [String: NodeID] = [:]
        for (index, node) in scenario.nodes.enumerated() where nodeByName[node.name] == nil { nodeByName[node.name] = NodeID(index) }
        for (index, spec) in scenario.firewalls.enumerated() {
            let id = FirewallID(index)
            let seed = scenario.seed ^ stableHash(spec.name)
            devices.append(FirewallDevice(configuration: spec.configuration, placement: Self.placementText(spec.placement),
                                          names: names, seed: seed))
            specs.append(spec)
            switch spec.placement {
            case .node(let name):
                if let node = nodeByName[name] { hostByNode[node.index] = id }
            case .interface(let name):
                if let node = nodeByName[name] { groupByNode[node.index] = id }
            case let .link(a, b):
                for direction in underlay.directions {
                    let from = underlay[direction.from].name, to = underlay[direction.to].name
                    if from == a && to == b { boxesByDirection[direction.id.index].append((id, true)) }
                    if from == b && to == a { boxesByDirection[direction.id.index].append((id, false)) }
                }
            }
        }
    }

    subscript(id: FirewallID) -> FirewallDevice { devices[id.index] }

    /// The node's host firewall (its nftables/iptables), if it has one.
    @inline(__always)
    func hostFirewall(of node: NodeID) -> FirewallID? { hostByNode.isEmpty ? nil : hostByNode[node.index] }

    /// The security group on the node's underlay interface, if it has one.
    @inline(__always)
    func securityGroup(of node: NodeID) -> FirewallID? { groupByNode.isEmpty ? nil : groupByNode[node.index] }

    @inline(__always)
    func hasMiddleboxes(on direction: DirectionID) -> Bool { directionHasBoxes.isEmpty ? false : directionHasBoxes[direction.index] }

    func middleboxes(on direction: DirectionID) -> [(device: FirewallID, outbound: Bool)] { boxesByDirection[direction.index] }

    /// Names for the addresses explanations mention: nodes, their pod gateways (cni0), routers, and the
    /// pods that exist at the start.
    static func names(nodes: [NodeSpec], cluster: Cluster, underlay: Underlay) -> AddressBook {
        var names = AddressBook()
        for node in nodes {
            names[node.address] = node.name
            names[.v4(ClusterNode.gatewayAddress(of: node))] = "\(node.name) cni0"
        }
        for place in underlay.places where place.node == nil { names[.v4(place.address)] = place.name }
        for pod in cluster.pods { names[.v4(pod.address)] = pod.name }
        return names
    }

    /// How sentences name where a device sits.
    static func placementText(_ placement: FirewallPlacement) -> String {
        switch placement {
        case .node(let name), .interface(let name): name
        case let .link(a, b): "link \(a)↔\(b)"
        }
    }
}
