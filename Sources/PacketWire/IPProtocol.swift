/// An IP protocol / IPv6 next-header number (IANA "Assigned Internet Protocol Numbers").
/// Open to values nobody named yet.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let hopByHopOptions = IPProtocol(rawValue: 0)
    public static let icmp = IPProtocol(rawValue: 1)
    public static let tcp = IPProtocol(rawValue: 6)
    public static let udp = IPProtocol(rawValue: 17)
    public static let ipv6Routing = IPProtocol(rawValue: 43)
    public static let ipv6Fragment = IPProtocol(rawValue: 44)
    public static let esp = IPProtocol(rawValue: 50)
    public static let authenticationHeader = IPProtocol(rawValue: 51)
    public static let icmpv6 = IPProtocol(rawValue: 58)
    public static let noNextHeader = IPProtocol(rawValue: 59)
    public static let destinationOptions = IPProtocol(rawValue: 60)

    public var name: String {
        switch self {
        case .hopByHopOptions: "HOPOPT"
        case .icmp: "ICMP"
        case .tcp: "TCP"
        case .udp: "UDP"
        case .ipv6Routing: "IPv6-Route"
        case .ipv6Fragment: "IPv6-Frag"
        case .esp: "ESP"
        case .authenticationHeader: "AH"
        case .icmpv6: "ICMPv6"
        case .noNextHeader: "IPv6-NoNxt"
        case .destinationOptions: "IPv6-Opts"
        default: "unknown"
        }
    }

    public var description: String { "\(name) - \(rawValue)" }
}
