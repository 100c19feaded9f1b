import PacketWire

/// A protocol a DPI box recognises: its transport, the ports it knows it on, and how it checks the
/// payload.
public struct DPIProtocol: Hashable, Sendable, CustomStringConvertible {
    public enum Signature: String, Hashable, Sendable {
        /// RFC 7348 §5: 8-byte header with the I flag set, then an Ethernet frame.
        case vxlan
        /// RFC 8926: version 0, protocol type 0x6558 (Ethernet).
        case geneve
        /// A DNS header (12 bytes) at least.
        case dns
        /// An NTP packet (48 bytes) at least.
        case ntp
        /// Recognised by port alone (TCP services).
        case port
        /// ICMP or ICMPv6 of any type.
        case icmp
    }

    public var name: String
    public var transport: IPProtocol
    public var ports: [UInt16]
    public var signature: Signature

    public init(name: String, transport: IPProtocol, ports: [UInt16], signature: Signature) {
        self.name = name
        self.transport = transport
        self.ports = ports
        self.signature = signature
    }

    /// The protocols a DPI box can be told to recognise, on their IANA ports.
    public static let catalogue: [DPIProtocol] = [
        DPIProtocol(name: "vxlan", transport: .udp, ports: [4789], signature: .vxlan),
        DPIProtocol(name: "geneve", transport: .udp, ports: [6081], signature: .geneve),
        DPIProtocol(name: "dns", transport: .udp, ports: [53], signature: .dns),
        DPIProtocol(name: "ntp", transport: .udp, ports: [123], signature: .ntp),
        DPIProtocol(name: "http", transport: .tcp, ports: [80], signature: .port),
        DPIProtocol(name: "https", transport: .tcp, ports: [443], signature: .port),
        DPIProtocol(name: "ssh", transport: .tcp, ports: [22], signature: .port),
        DPIProtocol(name: "kube-api", transport: .tcp, ports: [6443], signature: .port),
        DPIProtocol(name: "bgp", transport: .tcp, ports: [179], signature: .port),
        DPIProtocol(name: "icmp", transport: .icmp, ports: [], signature: .icmp),
    ]

    /// `vxlan` (on its IANA port) or `vxlan:8472` (on the ports given); nil for an unknown name or a
    /// bad port list.
    public static func named(_ text: String) -> DPIProtocol? {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1)
        guard let first = parts.first, var known = catalogue.first(where: { $0.name == first }) else { return nil }
        if parts.count == 2 {
            var ports: [UInt16] = []
            for piece in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                guard !piece.isEmpty, piece.allSatisfy({ $0.isASCII && $0.isWholeNumber }), let port = UInt16(piece), port > 0 else {
                    return nil
                }
                ports.append(port)
            }
            guard known.signature != .icmp else { return nil }
            known.ports = ports
        }
        return known
    }

    /// `VXLAN on UDP 4789`.
    public var description: String {
        if signature == .icmp { return "ICMP" }
        let portList = ports.map(String.init).joined(separator: ", ")
        return "\(name.uppercased()) on \(transport.name) \(portList)"
    }
}
