import DequeModule
import PacketWire

/// The underlay network: places (nodes and routers) joined by links, with a next hop from every place
/// to every other, found by breadth-first search (fewest hops; ties to the link listed first).
struct Underlay {
    struct Place {
        var name: String
        /// Index into the cluster's nodes, or nil for a router.
        var node: Int?
        var mac: MACAddress
        /// The address a router sends ICMP errors from.
        var address: IPv4Address
        var isSwitch = false
    }

    /// One direction of a link: its own queue, as a full-duplex link has.
    struct Direction {
        var from: Int
        var to: Int
        var link: Int
        /// When the transmitter is free again.
        var busyUntil: Nanoseconds = 0
        /// Start times of packets waiting, oldest first, to count the queue without storing packets.
        var waiting = Deque<Nanoseconds>()
        var packets = 0
        var bytes = 0
        var innerBytes = 0
        var queueDrops = 0
        var lossDrops = 0
    }

    var places: [Place]
    var links: [LinkSpec]
    var directions: [Direction] = []
    /// nextDirection[from][to]: the direction to send on, or -1 when unreachable.
    var nextDirection: [[Int]]

    init(scenario: Scenario, cluster: Cluster) {
        places = cluster.nodes.enumerated().map { index, node in
            Place(name: node.spec.name, node: index, mac: node.underlayMAC,
                  address: { if case .v4(let a) = node.spec.address { a } else { .any } }())
        }
        for (index, router) in scenario.routers.enumerated() {
            places.append(Place(name: router, node: nil, mac: MACAddress(rawValue: 0x0200_0000_FE00 | UInt64(index + 1)),
                                address: Self.routerAddress(index)))
        }
        for (index, device) in scenario.switches.enumerated() {
            places.append(Place(name: device, node: nil, mac: MACAddress(rawValue: 0x0200_0000_FD00 | UInt64(index + 1)),
                                address: .any, isSwitch: true))
        }
        links = scenario.links
        // With no links at all, every node pair gets a direct default link: a flat L3 network.
        if links.isEmpty {
            for a in scenario.nodes.indices {
                for b in scenario.nodes.indices where b > a {
                    links.append(LinkSpec(a: scenario.nodes[a].name, b: scenario.nodes[b].name,
                                          location: scenario.nodes[a].location))
                }
            }
        }
        let indexByName = Dictionary(uniqueKeysWithValues: places.enumerated().map { ($1.name, $0) })
        var adjacency = [[Int]](repeating: [], count: places.count)
        for (linkIndex, link) in links.enumerated() {
            let a = indexByName[link.a]!, b = indexByName[link.b]!
            adjacency[a].append(directions.count)
            directions.append(Direction(from: a, to: b, link: linkIndex))
            adjacency[b].append(directions.count)
            directions.append(Direction(from: b, to: a, link: linkIndex))
        }
        nextDirection = [[Int]](repeating: [Int](repeating: -1, count: places.count), count: places.count)
        for source in places.indices {
            // BFS from source, remembering the first direction taken on the way to each place.
            var first = [Int](repeating: -1, count: places.count)
            var visited = [Bool](repeating: false, count: places.count)
            visited[source] = true
            var frontier = Deque<Int>([source])
            while let place = frontier.popFirst() {
                for direction in adjacency[place] {
                    let next = directions[direction].to
                    guard !visited[next] else { continue }
                    visited[next] = true
                    first[next] = place == source ? direction : first[place]
                    frontier.append(next)
                }
            }
            nextDirection[source] = first
        }
    }

    /// The MAC address a frame from `from` toward `to` is sent to: the next router or the destination
    /// node, looking through switches, which forward frames without being addressed.
    func nextHopMAC(from: Int, to: Int) -> MACAddress? {
        var place = from
        repeat {
            let direction = nextDirection[place][to]
            guard direction >= 0 else { return nil }
            place = directions[direction].to
        } while places[place].isSwitch && place != to
        return places[place].mac
    }

    /// The address the `index`-th router (in scenario order) sends ICMP errors from: 198.51.100.0/24
    /// (TEST-NET-2, RFC 5737).
    static func routerAddress(_ index: Int) -> IPv4Address {
        IPv4Address(198, 51, 100, UInt8(truncatingIfNeeded: index + 1))
    }

    /// Smallest MTU on the path from `from` to `to`, or nil when unreachable.
    func pathMTU(from: Int, to: Int) -> Int? {
        var place = from, mtu = Int.max
        while place != to {
            let direction = nextDirection[place][to]
            guard direction >= 0 else { return nil }
            mtu = min(mtu, links[directions[direction].link].mtu)
            place = directions[direction].to
        }
        return mtu
    }
}
