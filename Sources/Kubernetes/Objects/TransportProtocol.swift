/// The transport protocols Kubernetes names in Services, container ports and NetworkPolicy ports
/// (k8s.io/api/core/v1 `Protocol`). The API's default, where a protocol may be left out, is TCP.
public enum TransportProtocol: String, Hashable, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"

    /// The IP protocol number (IANA): 6, 17, 132.
    @inlinable
    public var ipProtocolNumber: UInt8 {
        switch self {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        }
    }

    /// The protocol with IP protocol number `number`; nil for protocols Kubernetes does not name (ICMP).
    @inlinable
    public init?(ipProtocolNumber number: UInt8) {
        switch number {
        case 6: self = .tcp
        case 17: self = .udp
        case 132: self = .sctp
        default: return nil
        }
    }

    public var description: String { rawValue }

    public static func < (lhs: TransportProtocol, rhs: TransportProtocol) -> Bool {
        lhs.ipProtocolNumber < rhs.ipProtocolNumber
    }
}

/// A port given by number or by the name of a container port (a Service's `targetPort`, a NetworkPolicy
/// port): Kubernetes' `IntOrString`.
public enum PortReference: Hashable, Sendable, CustomStringConvertible {
    case number(UInt16)
    case name(String)

    public var description: String {
        switch self {
        case .number(let number): String(number)
        case .name(let name): name
        }
    }
}
