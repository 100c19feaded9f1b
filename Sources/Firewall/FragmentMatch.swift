/// Which packets a rule's fragment condition selects.
public enum FragmentMatch: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Whole packets only.
    case none
    /// Any fragment, first or not (`ip frag-off & 0x3fff != 0`).
    case any
    /// The first fragment: offset 0 with more fragments set; it still carries the ports.
    case first
    /// Fragments after the first: no transport header, so no ports.
    case nonFirst = "non-first"

    public var description: String { rawValue }

    func matches(_ packet: PacketFields) -> Bool {
        switch self {
        case .none: !packet.isFragment
        case .any: packet.isFragment
        case .first: packet.isFragment && packet.fragmentOffset == 0
        case .nonFirst: packet.fragmentOffset != 0
        }
    }

    /// Whether every packet `other` selects, this selects too.
    func covers(_ other: FragmentMatch) -> Bool {
        self == other || (self == .any && (other == .first || other == .nonFirst))
    }
}
