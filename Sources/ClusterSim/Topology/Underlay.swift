import DequeModule
import PacketWire

/// The underlay's shape: places (nodes, routers, switches) joined by links, and the next hop from every
/// place toward every other, found by breadth-first search (fewest hops; ties to the link listed first).
/// A class: fixed once built and read in place per packet (a struct held by `Network` was copied whole,
/// a retain per array, at each read).
final class Underlay {
    enum Role: Equatable {
        case node(NodeID)
        /// Routes IP: decrements TTL, fragments, sends ICMP errors.
        case router
        /// Forwards frames without touching IP.
        case `switch`
        /// A host that is not a node (an attacker): sends what it crafts, keeps what reaches it.
        case host
    }

    struct Place {
        var name: String
        var role: Role
        var mac: MACAddress
        /// The address a router sends ICMP errors from (a node's is its underlay address).
        var address: IPv4Address

        var node: NodeID? { if case .node(let id) = role { id } else { nil } }
        var isSwitch: Bool { role == .switch }
    }

    private(set) var places: [Place]
    private(set) var links: [LinkSpec]
    /// Both directions of every link: 2 × link index, then + 1 for the way back.
    private(set) var directions: [LinkDirection] = []
    /// The same, for the packet path's calls (see `Unretained`).
    private var unretainedDirections: [Unretained<LinkDirection>] = []
    /// The direction to send on from each place toward each other, or nil when unreachable: one flat
    /// table, `nextDirection[from × places + to]` (a table of rows retained a row per lookup).
    private var nextDirection: [DirectionID?]
    private let placeByName: [String: PlaceID]
    // What the packet path reads of places and directions, in flat arrays of plain values: reading them
    // through `places` or `directions` copied a Place (with its name) or retained a LinkDirection.
    private var roles: [Role] = []
    private var mtus: [Int] = []

    init(scenario: Scenario) {
        var places = scenario.nodes.enumerated().map { index, spec in
            Place(name: spec.name, role: .node(NodeID(index)), mac: ClusterNode.underlayMAC(of: spec, id: NodeID(index)),
                  address: { if case .v4(let a) = spec.address { a } else { .any } }())
        }
        for (index, router) in scenario.routers.enumerated() {
            places.append(Place(name: router, role: .router, mac: MACAddress(rawValue: 0x0200_0000_FE00 | UInt64(index + 1)),
                                address: Self.routerAddress(index)))
        }
        for (index, device) in scenario.switches.enumerated() {
            places.append(Place(name: device, role: .switch, mac: MACAddress(rawValue: 0x0200_0000_FD00 | UInt64(index + 1)),
                                address: .any))
        }
        for attacker in scenario.attackers {
            places.append(Place(name: attacker.name, role: .host, mac: attacker.mac, address: attacker.address))
        }
        self.places = places
        var links = scenario.links
        // With no links at all, every node pair gets a direct default link: a flat L3 network.
        if links.isEmpty {
            for a in scenario.nodes.indices {
                for b in scenario.nodes.indices where b > a {
                    links.append(LinkSpec(a: scenario.nodes[a].name, b: scenario.nodes[b].name, location: scenario.nodes[a].location))
                }
            }
        }
        links += scenario.attackers.map(\.link)
        self.links = links
        var byName: [String: PlaceID] = [:]
        for (index, place) in places.enumerated() where byName[place.name] == nil { byName[place.name] = PlaceID(index) }
        placeByName = byName
        var adjacency = [[DirectionID]](repeating: [], count: places.count)
        var directions: [LinkDirection] = []
        for (linkIndex, link) in links.enumerated() {
            guard let a = byName[link.a], let b = byName[link.b] else { continue }
            adjacency[a.index].append(DirectionID(directions.count))
            directions.append(LinkDirection(id: DirectionID(directions.count), from: a, to: b, link: LinkID(linkIndex), spec: link))
            adjacency[b.index].append(DirectionID(directions.count))
            directions.append(LinkDirection(id: DirectionID(directions.count), from: b, to: a, link: LinkID(linkIndex), spec: link))
        }
        self.directions = directions
        unretainedDirections = directions.map(Unretained.init)
        roles = places.map(\.role)
        mtus = directions.map(\.mtu)
        var next = [DirectionID?](repeating: nil, count: places.count * places.count)
        for source in places.indices {
            // BFS from source, remembering the first direction taken on the way to each place.
            var first = [DirectionID?](repeating: nil, count: places.count)
            var visited = [Bool](repeating: false, count: places.count)
            visited[source] = true
            var frontier = Deque<Int>([source])
            while let place = frontier.popFirst() {
                for direction in adjacency[place] {
                    let reached = directions[direction.index].to.index
                    guard !visited[reached] else { continue }
                    visited[reached] = true
                    first[reached] = place == source ? direction : first[place]
                    frontier.append(reached)
                }
            }
            next.replaceSubrange(source * places.count..<(source + 1) * places.count, with: first)
        }
        nextDirection = next
    }

    subscript(place: PlaceID) -> Place { places[place.index] }
    @inline(__always)
    subscript(direction: DirectionID) -> LinkDirection { directions[direction.index] }

    /// Calls into a link direction on the packet path, without reference counting.
    @inline(__always)
    func withDirection<Result>(_ direction: DirectionID, _ body: (LinkDirection) -> Result) -> Result {
        unretainedDirections[direction.index](body)
    }

    /// What the place is (a node, a router, a switch).
    @inline(__always)
    func role(of place: PlaceID) -> Role { roles[place.index] }
    /// The node at this place, if it is one.
    @inline(__always)
    func node(at place: PlaceID) -> NodeID? { if case .node(let id) = roles[place.index] { id } else { nil } }
    /// The MTU of the link this direction belongs to.
    @inline(__always)
    func mtu(of direction: DirectionID) -> Int { mtus[direction.index] }

    func place(named name: String) -> PlaceID? { placeByName[name] }

    /// The direction to send on from `from` toward `to`.
    @inline(__always)
    func nextDirection(from: PlaceID, to: PlaceID) -> DirectionID? { nextDirection[from.index &* places.count &+ to.index] }

    /// The MAC address a frame from `from` toward `to` is sent to: the next router or the destination
    /// node, looking through switches, which forward frames without being addressed.
    func nextHopMAC(from: PlaceID, to: PlaceID) -> MACAddress? {
        var place = from
        repeat {
            guard let direction = nextDirection(from: place, to: to) else { return nil }
            place = directions[direction.index].to
        } while places[place.index].isSwitch && place != to
        return places[place.index].mac
    }

    /// The address the `index`-th router (in scenario order) sends ICMP errors from: 198.51.100.0/24
    /// (TEST-NET-2, RFC 5737).
    static func routerAddress(_ index: Int) -> IPv4Address {
        IPv4Address(198, 51, 100, UInt8(truncatingIfNeeded: index + 1))
    }

    /// Over an IPv6 underlay, the address the `index`-th router sends ICMPv6 errors from: 2001:db8:ffff::/64
    /// (the documentation prefix, RFC 3849).
    static func routerAddressV6(_ index: Int) -> IPv6Address {
        IPv6Address(high: 0x2001_0db8_ffff_0000, low: UInt64(index + 1))
    }
}
