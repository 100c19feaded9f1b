import Firewall
import PacketWire

/// The scenario's firewalls placed on the path: a host firewall per node, a security group per node's
/// interface, and the middleboxes on each direction of each link. With no firewalls every list is
/// empty and the dataplane pays one array read per hook. A class: read per packet through the
/// simulation without copying, and fixed once built.
final class FirewallPlan {
    private(set) var devices: [FirewallDevice] = []
    private(set) var specs: [FirewallSpec] = []
    /// Device index of each node's host firewall, or -1.
    private(set) var hostByNode: [Int]
    /// Device index of the security group on each node's interface, or -1.
    private(set) var groupByNode: [Int]
    /// Middleboxes on each link direction, in scenario order, and whether that direction leaves the
    /// link's first end (a NAT's inside).
    private(set) var boxesByDirection: [[(device: Int, outbound: Bool)]]
    /// Whether a direction has any middlebox: read per packet instead of the list.
    private(set) var directionHasBoxes: [Bool]

    var isEmpty: Bool { devices.isEmpty }

    init(scenario: Scenario, cluster: Cluster, underlay: Underlay, names: AddressBook) {
        hostByNode = Array(repeating: -1, count: cluster.nodes.count)
        groupByNode = Array(repeating: -1, count: cluster.nodes.count)
        boxesByDirection = Array(repeating: [], count: underlay.directions.count)
        directionHasBoxes = Array(repeating: false, count: underlay.directions.count)
        defer { directionHasBoxes = boxesByDirection.map { !$0.isEmpty } }
        guard !scenario.firewalls.isEmpty else { return }
        let nodeIndex = Dictionary(uniqueKeysWithValues: cluster.nodes.enumerated().map { ($1.spec.name, $0) })
        for (index, spec) in scenario.firewalls.enumerated() {
            let seed = scenario.seed ^ stableHash(spec.name)
            devices.append(FirewallDevice(configuration: spec.configuration, placement: Self.placementText(spec.placement),
                                          names: names, seed: seed))
            specs.append(spec)
            switch spec.placement {
            case .node(let name):
                if let node = nodeIndex[name] { hostByNode[node] = index }
            case .interface(let name):
                if let node = nodeIndex[name] { groupByNode[node] = index }
            case let .link(a, b):
                for (directionIndex, direction) in underlay.directions.enumerated() {
                    let from = underlay.places[direction.from].name, to = underlay.places[direction.to].name
                    if from == a && to == b { boxesByDirection[directionIndex].append((index, true)) }
                    if from == b && to == a { boxesByDirection[directionIndex].append((index, false)) }
                }
            }
        }
    }

    /// Names for the addresses explanations mention: nodes, their pod gateways (cni0), routers, and the
    /// pods that exist at the start.
    static func names(cluster: Cluster, underlay: Underlay) -> AddressBook {
        var names = AddressBook()
        for node in cluster.nodes {
            names[node.spec.address] = node.spec.name
            names[.v4(node.spec.podCIDR.address(1))] = "\(node.spec.name) cni0"
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
