/// Typed identities for the parts of a simulated cluster. Each wraps the index of the part in the array
/// that holds it, so a lookup is an array read, and the type says what kind of part it is: a `NodeID` can
/// never be passed where a `PodID` is meant, and "none" is `nil`, never -1. Four bytes each, so a
/// packet's tag and an event stay small.

/// A node of the cluster (index into the scenario's nodes, in file order).
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let raw: Int32
    public var index: Int { Int(raw) }
    public init(_ index: Int) { raw = Int32(truncatingIfNeeded: index) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var description: String { "node#\(index)" }
}

/// A pod, in the order the control plane created it (a replacement is a new pod).
public struct PodID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let raw: Int32
    public var index: Int { Int(raw) }
    public init(_ index: Int) { raw = Int32(truncatingIfNeeded: index) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var description: String { "pod#\(index)" }
}

/// A place on the underlay: a node, a router or a switch. Nodes come first, with the same index as their
/// `NodeID`, then routers, then switches, in scenario order.
public struct PlaceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let raw: Int32
    public var index: Int { Int(raw) }
    public init(_ index: Int) { raw = Int32(truncatingIfNeeded: index) }
    public init(_ node: NodeID) { raw = Int32(truncatingIfNeeded: node.index) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var description: String { "place#\(index)" }
}

/// A link of the underlay, in scenario order (or generated order when the scenario lists none).
public struct LinkID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let raw: Int32
    public var index: Int { Int(raw) }
    public init(_ index: Int) { raw = Int32(truncatingIfNeeded: index) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var description: String { "link#\(index)" }
}

/// One direction of a link (a full-duplex link has two, each with its own transmitter and queue).
public struct DirectionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let raw: Int32
    public var index: Int { Int(raw) }
    public init(_ index: Int) { raw = Int32(truncatingIfNeeded: index) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var description: String { "direction#\(index)" }
}

/// A crafted stream of an attacker (index into the attackers' `send` entries, in scenario order).
public struct AttackID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let raw: Int32
    public var index: Int { Int(raw) }
    public init(_ index: Int) { raw = Int32(truncatingIfNeeded: index) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var description: String { "attack#\(index)" }
}

/// A traffic entry of the scenario (index into `Scenario.traffic`).
public struct FlowID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let raw: Int32
    public var index: Int { Int(raw) }
    public init(_ index: Int) { raw = Int32(truncatingIfNeeded: index) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var description: String { "flow#\(index)" }
}

/// One sender of a traffic entry: the application in one client pod (a `from` selector gives one per pod).
public struct SenderID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let raw: Int32
    public var index: Int { Int(raw) }
    public init(_ index: Int) { raw = Int32(truncatingIfNeeded: index) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var description: String { "sender#\(index)" }
}

/// A firewall, security group or middlebox placed on the path (index into the scenario's firewalls).
public struct FirewallID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let raw: Int32
    public var index: Int { Int(raw) }
    public init(_ index: Int) { raw = Int32(truncatingIfNeeded: index) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
    public var description: String { "firewall#\(index)" }
}
