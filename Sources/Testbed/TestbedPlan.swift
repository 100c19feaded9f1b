import ClusterSim
import Firewall
import PacketWire
import VXLAN

/// What a testbed run is asked to do beyond the scenario.
public struct TestbedOptions: Sendable {
    public var layout: VTEPLayout = .routed
    /// `name=value` sysctls, set in every namespace whose kernel has them (`net.ipv4.ip_forward_use_pmtu=1`).
    public var sysctls: [(name: String, value: String)] = []
    /// Seconds the traffic may take in all; every sender and server stops by then.
    public var timeLimit: Double = 10
    /// Traffic entries whose destination does not listen (a closed port): no server is started for them.
    public var closedFlows: Set<String> = []
    /// Namespace name prefix, unique per run.
    public var prefix: String

    public init(prefix: String) { self.prefix = prefix }
}

/// One command of the build, with what goes to its standard input.
struct Step: CustomStringConvertible {
    var arguments: [String]
    var input: String?
    /// A failure is recorded, not fatal (ethtool on a device without that feature).
    var optional = false
    /// When an optional step fails, this sentence goes to the run's list of what could not be built.
    var unsupportedNote: String?
    var description: String { arguments.joined(separator: " ") }
}

/// A capture point: one pcap file from one or more interfaces of one namespace.
struct CapturePoint {
    var file: String
    var namespace: String
    var interfaces: [String]
}

/// The scenario laid out as namespaces, interfaces, addresses, routes, neighbours, FDB entries and
/// rulesets. Built without touching the system, so it can be read and tested anywhere; ``TestbedRunner``
/// carries it out.
struct TestbedPlan {
    struct NodePlace {
        var name: String
        var namespace: String
        var address: IPAddress
        var podCIDR: IPPrefix
        var underlayInterfaces: [String] = []
    }
    struct PodPlace {
        var name: String
        var workload: String
        var node: Int
        var namespace: String
        var address: IPv4Address
        var mac: MACAddress
    }
    /// A node, router or switch of the underlay (in ClusterSim's order: nodes, routers, switches).
    struct Place {
        enum Kind { case node(Int), router(Int), bridge(Int) }
        var name: String
        var kind: Kind
        var namespace: String
        var ports: Int = 0
        var isSwitch: Bool { if case .bridge = kind { true } else { false } }
    }
    struct LinkEnd { var place: Int; var interface: String }
    /// A link's settings (ClusterSim's LinkSpec, whose initialiser is internal there).
    struct LinkSettings {
        var a: String, b: String
        var latency: UInt64 = 50_000
        var bandwidth: UInt64 = 10_000_000_000
        var mtu = 1500
        var loss: Double = 0
        var queue = 1000
        init(a: String, b: String) { self.a = a; self.b = b }
        init(_ spec: LinkSpec) {
            a = spec.a; b = spec.b; latency = spec.latency; bandwidth = spec.bandwidth; mtu = spec.mtu; loss = spec.loss; queue = spec.queue
        }
    }
    struct Link { var spec: LinkSettings; var a: LinkEnd; var b: LinkEnd }

    var scenario: Scenario
    var options: TestbedOptions
    var nodes: [NodePlace] = []
    var pods: [PodPlace] = []
    var places: [Place] = []
    var links: [Link] = []
    var namespaces: [String] = []
    var steps: [Step] = []
    /// Rulesets loaded after the topology, with the sysctls of their conntrack.
    var rulesets: [(namespace: String, ruleset: NFTablesRuleset, firewall: FirewallSpec, point: String)] = []
    var captures: [CapturePoint] = []
    var unsupported: [String] = []
    var ipv6Underlay: Bool

    var overhead: Int { ipv6Underlay ? 70 : 50 }

    init(scenario: Scenario, pods simulatedPods: [Report.PodEntry], options: TestbedOptions) throws(TestbedError) {
        self.scenario = scenario
        self.options = options
        ipv6Underlay = scenario.nodes.first?.address.isIPv6 ?? false
        let prefix = options.prefix
        for (index, node) in scenario.nodes.enumerated() {
            nodes.append(NodePlace(name: node.name, namespace: "\(prefix)-n\(index)", address: node.address, podCIDR: node.podCIDR))
            places.append(Place(name: node.name, kind: .node(index), namespace: "\(prefix)-n\(index)"))
        }
        for (index, router) in scenario.routers.enumerated() {
            places.append(Place(name: router, kind: .router(index), namespace: "\(prefix)-r\(index)"))
        }
        for (index, device) in scenario.switches.enumerated() {
            places.append(Place(name: device, kind: .bridge(index), namespace: "\(prefix)-s\(index)"))
        }
        for entry in simulatedPods where !entry.deleted {
            guard let node = scenario.nodes.firstIndex(where: { $0.name == entry.node }),
                  let address = IPv4Address(entry.address) else {
                throw TestbedError(.input, "pod \(entry.name): node '\(entry.node)' or address '\(entry.address)' is not in the scenario")
            }
            pods.append(PodPlace(name: entry.name, workload: entry.workload, node: node, namespace: "\(prefix)-p\(pods.count)", address: address,
                                 mac: SimulatorAddressing.podMAC(address)))
        }
        if !scenario.events.isEmpty {
            unsupported.append("events (pod deletions at set times) are not replayed; the pods are those running when the simulation ended")
        }
        namespaces = places.map(\.namespace) + pods.map(\.namespace)
        var linkSpecs = scenario.links.map(LinkSettings.init)
        if linkSpecs.isEmpty {
            // ClusterSim: with no links, every node pair gets a direct default link.
            for a in scenario.nodes.indices {
                for b in scenario.nodes.indices where b > a {
                    linkSpecs.append(LinkSettings(a: scenario.nodes[a].name, b: scenario.nodes[b].name))
                }
            }
        }
        for spec in linkSpecs {
            guard let a = places.firstIndex(where: { $0.name == spec.a }), let b = places.firstIndex(where: { $0.name == spec.b }) else {
                throw TestbedError(.input, "link \(spec.a)↔\(spec.b): an end is neither a node, a router nor a switch")
            }
            let endA = LinkEnd(place: a, interface: "ul\(places[a].ports)")
            places[a].ports += 1
            let endB = LinkEnd(place: b, interface: "ul\(places[b].ports)")
            places[b].ports += 1
            links.append(Link(spec: spec, a: endA, b: endB))
            if case .node(let node) = places[a].kind { nodes[node].underlayInterfaces.append(endA.interface) }
            if case .node(let node) = places[b].kind { nodes[node].underlayInterfaces.append(endB.interface) }
        }
        buildSteps()
    }

    // MARK: - Naming

    func placeMAC(_ place: Int) -> MACAddress {
        switch places[place].kind {
        case .node(let index): SimulatorAddressing.nodeUnderlayMAC(index)
        case .router(let index): SimulatorAddressing.routerMAC(index)
        case .bridge(let index): MACAddress(rawValue: 0x0200_0000_FD00 | UInt64(index + 1))
        }
    }

    func placeAddress(_ place: Int) -> String? {
        switch places[place].kind {
        case .node(let index): nodes[index].address.description
        case .router(let index): ipv6Underlay ? SimulatorAddressing.routerAddressV6(index).description
            : SimulatorAddressing.routerAddress(index).description
        case .bridge: nil
        }
    }

    var hostBits: Int { ipv6Underlay ? 128 : 32 }
    var ipFamily: String { ipv6Underlay ? "-6" : "-4" }

    // MARK: - Paths (ClusterSim's Underlay: breadth-first, fewest hops, ties to the link listed first)

    /// For each source place, the link (and its end at the source) first taken toward each place.
    func firstHops() -> [[(link: Int, end: LinkEnd)?]] {
        var adjacency = [[(link: Int, from: LinkEnd, to: LinkEnd)]](repeating: [], count: places.count)
        for (index, link) in links.enumerated() {
            adjacency[link.a.place].append((index, link.a, link.b))
            adjacency[link.b.place].append((index, link.b, link.a))
        }
        return places.indices.map { source in
            var first = [(link: Int, end: LinkEnd)?](repeating: nil, count: places.count)
            var visited = [Bool](repeating: false, count: places.count)
            visited[source] = true
            var frontier = [source], cursor = 0
            while cursor < frontier.count {
                let place = frontier[cursor]
                cursor += 1
                for edge in adjacency[place] where !visited[edge.to.place] {
                    visited[edge.to.place] = true
                    first[edge.to.place] = place == source ? (edge.link, edge.from) : first[place]
                    frontier.append(edge.to.place)
                }
            }
            return first
        }
    }

    /// From `source` toward `destination`: the interface to send on and the next place that is not a
    /// switch (switches forward frames without being addressed).
    func nextHop(_ hops: [[(link: Int, end: LinkEnd)?]], from source: Int, to destination: Int) -> (interface: String, place: Int)? {
        guard let first = hops[source][destination] else { return nil }
        var place = source
        var guardCount = 0
        repeat {
            guard let hop = hops[place][destination] else { return nil }
            let link = links[hop.link]
            place = link.a.place == place ? link.b.place : link.a.place
            guardCount += 1
        } while places[place].isSwitch && place != destination && guardCount <= places.count
        return (first.end.interface, place)
    }

    // MARK: - Steps

    mutating func add(_ namespace: String, _ arguments: [String], input: String? = nil, optional: Bool = false) {
        steps.append(Step(arguments: ["ip", "netns", "exec", namespace] + arguments, input: input, optional: optional))
    }

    mutating func ip(_ namespace: String, _ arguments: String) {
        steps.append(Step(arguments: ["ip", "-n", namespace] + arguments.split(separator: " ").map(String.init)))
    }

    mutating func sysctl(_ namespace: String, _ name: String, _ value: String) {
        add(namespace, ["sysctl", "-qw", "\(name)=\(value)"])
    }

    mutating func offloadsOff(_ namespace: String, _ interface: String) {
        // Software checksums and no segmentation or receive offloads, so every capture shows each packet
        // as it is on a wire, with its real checksum.
        add(namespace, ["ethtool", "-K", interface, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off"], optional: true)
    }

    mutating func buildSteps() {
        for namespace in namespaces { steps.append(Step(arguments: ["ip", "netns", "add", namespace])) }
        // Sysctls every new interface inherits come first.
        for place in places {
            let namespace = place.namespace
            ip(namespace, "link set lo up")
            if ipv6Underlay && !place.isSwitch {
                for scope in ["all", "default"] {
                    sysctl(namespace, "net.ipv6.conf.\(scope).accept_dad", "0")
                    sysctl(namespace, "net.ipv6.conf.\(scope).router_solicitations", "0")
                }
            } else {
                sysctl(namespace, "net.ipv6.conf.all.disable_ipv6", "1")
                sysctl(namespace, "net.ipv6.conf.default.disable_ipv6", "1")
            }
            for scope in ["all", "default"] { sysctl(namespace, "net.ipv4.conf.\(scope).rp_filter", "0") }
            switch place.kind {
            case .node, .router:
                sysctl(namespace, "net.ipv4.ip_forward", "1")
                if ipv6Underlay { sysctl(namespace, "net.ipv6.conf.all.forwarding", "1") }
            case .bridge:
                break
            }
        }
        for pod in pods {
            ip(pod.namespace, "link set lo up")
            sysctl(pod.namespace, "net.ipv6.conf.all.disable_ipv6", "1")
            sysctl(pod.namespace, "net.ipv6.conf.default.disable_ipv6", "1")
        }
        for (name, value) in options.sysctls {
            for namespace in namespaces { add(namespace, ["sysctl", "-qw", "\(name)=\(value)"], optional: true) }
        }
        buildUnderlay()
        for index in nodes.indices { buildNode(index) }
        buildFirewalls()
        buildServices()
    }

    /// The links, each a veth pair (or two, through a middlebox's bridge), with MTU and netem.
    mutating func buildUnderlay() {
        for place in places.indices where places[place].isSwitch {
            let namespace = places[place].namespace
            ip(namespace, "link add br0 type bridge")
            ip(namespace, "link set br0 up")
        }
        let middleboxes = scenario.firewalls.filter { if case .link = $0.placement { true } else { false } }
        for (index, link) in links.enumerated() {
            let spec = link.spec
            let nsA = places[link.a.place].namespace, nsB = places[link.b.place].namespace
            let boxes = middleboxes.filter {
                if case let .link(x, y) = $0.placement { (x == spec.a && y == spec.b) || (x == spec.b && y == spec.a) } else { false }
            }
            // The chain of namespaces the link passes through: A, each middlebox, B.
            var hops: [(namespace: String, interface: String)] = [(nsA, link.a.interface)]
            for (boxIndex, box) in boxes.enumerated() {
                let namespace = "\(options.prefix)-m\(index)x\(boxIndex)"
                namespaces.append(namespace)
                steps.insert(Step(arguments: ["ip", "netns", "add", namespace]), at: 0)
                sysctl(namespace, "net.ipv6.conf.all.disable_ipv6", ipv6Underlay ? "0" : "1")
                ip(namespace, "link add br0 type bridge")
                add(namespace, ["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"])
                add(namespace, ["sysctl", "-qw", "net.bridge.bridge-nf-call-ip6tables=1"])
                ip(namespace, "link set br0 up")
                let point = "link \(spec.a)↔\(spec.b)"
                var ruleset = NFTablesRuleset.middlebox(box)
                ruleset.unsupported = ruleset.unsupported.map { "\(point): \($0)" }
                rulesets.append((namespace, ruleset, box, point))
                hops.append((namespace, "mb0"))
                hops.append((namespace, "mb1"))
            }
            hops.append((nsB, link.b.interface))
            var pairIndex = 0
            while pairIndex + 1 < hops.count {
                let left = hops[pairIndex], right = hops[pairIndex + 1]
                steps.append(Step(arguments: ["ip", "-n", left.namespace, "link", "add", left.interface, "mtu", "\(spec.mtu)",
                                              "type", "veth", "peer", "name", right.interface, "netns", right.namespace, "mtu", "\(spec.mtu)"]))
                pairIndex += 2
            }
            for (position, hop) in hops.enumerated() {
                let isEnd = position == 0 || position == hops.count - 1
                if !isEnd { ip(hop.namespace, "link set \(hop.interface) master br0") }
                offloadsOff(hop.namespace, hop.interface)
                ip(hop.namespace, "link set \(hop.interface) up")
            }
            // The ends: their MACs, the bridge port of a switch, the link's latency and loss.
            for end in [link.a, link.b] {
                let namespace = places[end.place].namespace
                if places[end.place].isSwitch {
                    ip(namespace, "link set \(end.interface) master br0")
                    continue
                }
                ip(namespace, "link set \(end.interface) address \(placeMAC(end.place))")
                var netem = ["tc", "qdisc", "add", "dev", end.interface, "root", "netem", "limit", "\(spec.queue)",
                             "delay", "\(max(1, spec.latency / 1000))us"]
                if spec.loss > 0 { netem += ["loss", "random", "\(spec.loss * 100)%"] }
                if spec.bandwidth < 10_000_000_000 { netem += ["rate", "\(spec.bandwidth)bit"] }
                steps.append(Step(arguments: ["ip", "netns", "exec", namespace] + netem, optional: true,
                                  unsupportedNote: "link \(spec.a)↔\(spec.b): latency \(spec.latency / 1000) µs\(spec.loss > 0 ? ", loss \(spec.loss)" : "")\(spec.bandwidth < 10_000_000_000 ? ", bandwidth \(spec.bandwidth) bit/s" : "") not emulated: `tc qdisc add ... netem` failed (this kernel has no sch_netem)"))
                if case .router(let router) = places[end.place].kind {
                    let address = ipv6Underlay ? SimulatorAddressing.routerAddressV6(router).description
                        : SimulatorAddressing.routerAddress(router).description
                    steps.append(Step(arguments: ["ip", "-n", namespace, ipFamily, "addr", "add", "\(address)/\(hostBits)", "dev", end.interface]
                                      + (ipv6Underlay ? ["nodad"] : [])))
                }
                if case .node(let node) = places[end.place].kind {
                    steps.append(Step(arguments: ["ip", "-n", namespace, ipFamily, "addr", "add", "\(nodes[node].address)/\(hostBits)",
                                                  "dev", end.interface] + (ipv6Underlay ? ["nodad"] : [])))
                }
            }
        }
        // Host routes from every node and router to every node, as ClusterSim's breadth-first paths, with
        // permanent neighbour entries so no ARP or neighbour discovery runs on the underlay.
        let hops = firstHops()
        for source in places.indices where !places[source].isSwitch {
            var neighbours = Set<String>()
            for (node, target) in nodes.enumerated() {
                guard let destination = places.firstIndex(where: { if case .node(node) = $0.kind { true } else { false } }),
                      destination != source, let hop = nextHop(hops, from: source, to: destination) else { continue }
                let namespace = places[source].namespace
                if hop.place == destination {
                    steps.append(Step(arguments: ["ip", "-n", namespace, ipFamily, "route", "replace", "\(target.address)/\(hostBits)", "dev", hop.interface]))
                } else if let via = placeAddress(hop.place) {
                    steps.append(Step(arguments: ["ip", "-n", namespace, ipFamily, "route", "replace", "\(target.address)/\(hostBits)",
                                                  "via", via, "dev", hop.interface, "onlink"]))
                }
                if let neighbour = placeAddress(hop.place), neighbours.insert("\(neighbour)%\(hop.interface)").inserted {
                    steps.append(Step(arguments: ["ip", "-n", namespace, ipFamily, "neigh", "replace", neighbour, "lladdr",
                                                  "\(placeMAC(hop.place))", "dev", hop.interface, "nud", "permanent"]))
                }
            }
            // Routers answer nodes' ICMP errors' senders too: neighbours toward every adjacent router.
            if case .router = places[source].kind {
                for link in links {
                    for (near, far) in [(link.a, link.b), (link.b, link.a)] where near.place == source && !places[far.place].isSwitch {
                        if let neighbour = placeAddress(far.place), neighbours.insert("\(neighbour)%\(near.interface)").inserted {
                            steps.append(Step(arguments: ["ip", "-n", places[source].namespace, ipFamily, "neigh", "replace", neighbour, "lladdr",
                                                          "\(placeMAC(far.place))", "dev", near.interface, "nud", "permanent"]))
                        }
                    }
                }
            }
        }
    }

    /// `ip link add flannel.1 type vxlan ...` with the scenario's overlay options.
    func vxlanArguments(node: Int) -> [String] {
        let overlay = scenario.overlay
        var words = ["link", "add", "flannel.1", "type", "vxlan", "id", "\(overlay.vni)", "local", "\(nodes[node].address)"]
        if nodes[node].underlayInterfaces.count == 1 { words += ["dev", nodes[node].underlayInterfaces[0]] }
        words += ["dstport", "\(overlay.destinationPort)"]
        words.append(overlay.fdb == .learning ? "learning" : "nolearning")
        if overlay.sourcePortRange != TunnelConfiguration.linuxEphemeralPorts {
            words += ["srcport", "\(overlay.sourcePortRange.lowerBound)", "\(overlay.sourcePortRange.upperBound)"]
        }
        switch overlay.ttl {
        case .auto: break
        case .inherit: words += ["ttl", "inherit"]
        case .fixed(let value): words += ["ttl", "\(value)"]
        }
        switch overlay.tos {
        case .inherit: words += ["tos", "inherit"]
        case .fixed(let value): if value != 0 { words += ["tos", String(value, radix: 16)] }
        }
        words += ["df", overlay.df.rawValue]
        if ipv6Underlay {
            if !overlay.udpChecksum { words.append("udp6zerocsumtx") }
        } else {
            words.append(overlay.udpChecksum ? "udpcsum" : "noudpcsum")
        }
        if overlay.groupBasedPolicy { words.append("gbp") }
        return words
    }

    /// A node's cni0 bridge, flannel.1, its pods, and Flannel's routes, neighbours and FDB entries.
    mutating func buildNode(_ index: Int) {
        let node = nodes[index]
        let namespace = node.namespace
        let overlay = scenario.overlay
        let gateway = node.podCIDR.ipv4Address(1)
        ip(namespace, "link add cni0 type bridge")
        ip(namespace, "link set cni0 address \(SimulatorAddressing.gatewayMAC(index)) mtu \(overlay.mtu)")
        ip(namespace, "addr add \(gateway)/\(node.podCIDR.length) dev cni0")
        ip(namespace, "link set cni0 up")
        steps.append(Step(arguments: ["ip", "-n", namespace] + vxlanArguments(node: index)))
        // Flannel: the VTEP's MTU is the uplink's less the encapsulation.
        let uplink = links.first { places[$0.a.place].namespace == namespace || places[$0.b.place].namespace == namespace }?.spec.mtu ?? 1500
        ip(namespace, "link set flannel.1 address \(SimulatorAddressing.vtepMAC(index)) mtu \(uplink - overhead)")
        offloadsOff(namespace, "flannel.1")
        switch options.layout {
        case .routed:
            ip(namespace, "addr add \(node.podCIDR.network)/32 dev flannel.1")
        case .bridged:
            ip(namespace, "link set flannel.1 master cni0")
        }
        ip(namespace, "link set flannel.1 up")
        for (remoteIndex, remote) in nodes.enumerated() where remoteIndex != index {
            switch options.layout {
            case .routed:
                ip(namespace, "route replace \(remote.podCIDR) via \(remote.podCIDR.network) dev flannel.1 onlink")
                if overlay.fdb == .static {
                    ip(namespace, "neigh replace \(remote.podCIDR.network) lladdr \(SimulatorAddressing.vtepMAC(remoteIndex)) dev flannel.1 nud permanent")
                    steps.append(Step(arguments: ["bridge", "-n", namespace, "fdb", "append", "\(SimulatorAddressing.vtepMAC(remoteIndex))",
                                                  "dev", "flannel.1", "dst", "\(remote.address)", "self", "permanent"]))
                }
            case .bridged:
                let remoteGateway = remote.podCIDR.ipv4Address(1)
                ip(namespace, "route replace \(remote.podCIDR) via \(remoteGateway) dev cni0 onlink")
                ip(namespace, "neigh replace \(remoteGateway) lladdr \(SimulatorAddressing.gatewayMAC(remoteIndex)) dev cni0 nud permanent")
                if overlay.fdb == .static {
                    steps.append(Step(arguments: ["bridge", "-n", namespace, "fdb", "append", "\(SimulatorAddressing.gatewayMAC(remoteIndex))",
                                                  "dev", "flannel.1", "dst", "\(remote.address)", "self", "permanent"]))
                    steps.append(Step(arguments: ["bridge", "-n", namespace, "fdb", "replace", "\(SimulatorAddressing.gatewayMAC(remoteIndex))",
                                                  "dev", "flannel.1", "master", "static"]))
                }
            }
            if overlay.fdb == .learning {
                // Head-end replication: broadcast and unknown unicast go to every remote VTEP.
                steps.append(Step(arguments: ["bridge", "-n", namespace, "fdb", "append", "00:00:00:00:00:00",
                                              "dev", "flannel.1", "dst", "\(remote.address)", "self", "permanent"]))
            }
        }
        let local = pods.enumerated().filter { $0.element.node == index }
        for (port, (_, pod)) in local.enumerated() {
            let veth = "vp\(port)"
            steps.append(Step(arguments: ["ip", "-n", namespace, "link", "add", veth, "mtu", "\(overlay.mtu)", "type", "veth",
                                          "peer", "name", "eth0", "netns", pod.namespace, "mtu", "\(overlay.mtu)"]))
            ip(namespace, "link set \(veth) master cni0")
            offloadsOff(namespace, veth)
            ip(namespace, "link set \(veth) up")
            steps.append(Step(arguments: ["bridge", "-n", namespace, "fdb", "replace", "\(pod.mac)", "dev", veth, "master", "static"]))
            ip(namespace, "neigh replace \(pod.address) lladdr \(pod.mac) dev cni0 nud permanent")
            ip(pod.namespace, "link set eth0 address \(pod.mac)")
            offloadsOff(pod.namespace, "eth0")
            ip(pod.namespace, "addr add \(pod.address)/\(node.podCIDR.length) dev eth0")
            ip(pod.namespace, "link set eth0 up")
            ip(pod.namespace, "route add default via \(gateway) dev eth0")
            ip(pod.namespace, "neigh replace \(gateway) lladdr \(SimulatorAddressing.gatewayMAC(index)) dev eth0 nud permanent")
            for (_, other) in local where other.name != pod.name {
                ip(pod.namespace, "neigh replace \(other.address) lladdr \(other.mac) dev eth0 nud permanent")
            }
            captures.append(CapturePoint(file: "pod-\(pod.name).pcap", namespace: pod.namespace, interfaces: ["eth0"]))
        }
        if scenario.captures.underlay {
            captures.append(CapturePoint(file: "\(node.name)-underlay.pcap", namespace: namespace, interfaces: node.underlayInterfaces))
        }
        if scenario.captures.vtep {
            captures.append(CapturePoint(file: "\(node.name)-vtep.pcap", namespace: namespace, interfaces: ["flannel.1"]))
        }
        if !scenario.captures.pods { captures.removeAll { $0.file.hasPrefix("pod-") } }
    }

    mutating func buildFirewalls() {
        for spec in scenario.firewalls {
            switch spec.placement {
            case .node(let name), .interface(let name):
                guard let index = nodes.firstIndex(where: { $0.name == name }) else { continue }
                var ruleset = NFTablesRuleset.host(spec, underlayInterfaces: nodes[index].underlayInterfaces)
                let point: String
                if case .node = spec.placement { point = name } else { point = "\(name) security group" }
                ruleset.unsupported = ruleset.unsupported.map { "\(point): \($0)" }
                rulesets.append((nodes[index].namespace, ruleset, spec, point))
            case .link:
                break
            }
        }
        for entry in rulesets { unsupported += entry.ruleset.unsupported }
    }

    /// kube-proxy in iptables mode, in nftables' words: DNAT of each Service port to its endpoints in
    /// prerouting (pods) and output (the node), and REJECT for a port without endpoints
    /// (pkg/proxy/iptables/proxier.go: KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-*, the reject in KUBE-EXTERNAL-SERVICES
    /// and KUBE-SERVICES' filter chain).
    mutating func buildServices() {
        guard !scenario.services.isEmpty else { return }
        var nat: [String] = [], reject: [String] = []
        for service in scenario.services {
            let endpoints = pods.filter { pod in
                scenario.workloads.contains { $0.name == pod.workload && service.selector.matches($0.labels) }
            }.sorted { $0.name < $1.name }
            for port in service.ports {
                let proto = port.protocol == .tcp ? "tcp" : "udp"
                let match = "ip daddr \(service.clusterIP) \(proto) dport \(port.port)"
                if endpoints.isEmpty {
                    reject.append("    \(match) counter reject comment \"service \(service.name) has no endpoints\"")
                } else if endpoints.count == 1 {
                    nat.append("    \(match) counter dnat to \(endpoints[0].address):\(port.targetPort)")
                } else {
                    let map = endpoints.enumerated().map { "\($0.offset) : \($0.element.address)" }.joined(separator: ", ")
                    nat.append("    \(match) counter dnat to numgen random mod \(endpoints.count) map { \(map) } : \(port.targetPort)")
                }
            }
        }
        let ruleset = """
        table ip kubeproxy {
          chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
        \(nat.joined(separator: "\n"))
          }
          chain output {
            type nat hook output priority -100; policy accept;
        \(nat.joined(separator: "\n"))
          }
          chain filter {
            type filter hook forward priority -1; policy accept;
        \(reject.joined(separator: "\n"))
          }
        }

        """
        for node in nodes { add(node.namespace, ["nft", "-f", "-"], input: ruleset) }
    }
}
