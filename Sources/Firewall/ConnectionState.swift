/// The connection-tracking state of a packet, as nftables' `ct state` names it.
public enum ConnectionState: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The first packets of a flow, before anything came back.
    case new
    /// A flow that has seen traffic both ways (and any packet of the reply direction).
    case established
    /// An ICMP error about a tracked flow (fragmentation needed, port unreachable, ...).
    case related
    /// A packet conntrack cannot place: a TCP segment without SYN and no entry, an ICMP error about
    /// nothing tracked.
    case invalid
    /// A packet exempted from tracking (`notrack`), or seen by a stateless device.
    case untracked

    public var description: String { rawValue }
}

/// A set of connection states for a rule (`ct state established,related`).
public struct ConnectionStates: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public init(_ state: ConnectionState) {
        switch state {
        case .new: self = .new
        case .established: self = .established
        case .related: self = .related
        case .invalid: self = .invalid
        case .untracked: self = .untracked
        }
    }

    public static let new = ConnectionStates(rawValue: 1)
    public static let established = ConnectionStates(rawValue: 2)
    public static let related = ConnectionStates(rawValue: 4)
    public static let invalid = ConnectionStates(rawValue: 8)
    public static let untracked = ConnectionStates(rawValue: 16)

    /// `new,established` in nft's order.
    public var description: String {
        ConnectionState.allCases.filter { contains(ConnectionStates($0)) }.map(\.rawValue).joined(separator: ",")
    }
}
