import PacketWire

/// A fragment filter's choice of victims.
public struct FragmentFilterOptions: Hashable, Sendable {
    /// Which fragments are dropped: `any` (all), `first` or `non-first`.
    public var drop: FragmentMatch = .any
    public init() {}
}

/// An ICMP filter: drops ICMP of the listed types, or lets it through at a limited rate.
public struct ICMPFilterOptions: Hashable, Sendable {
    /// ICMP types it acts on; nil for all.
    public var types: [UInt8]?
    /// Packets per second let through; nil drops every matching packet.
    public var ratePerSecond: Double?
    /// Packets that may pass in a burst above the rate (a token bucket's depth).
    public var burst: Int = 5
    public init() {}
}

/// Source NAT.
public struct NATOptions: Hashable, Sendable {
    /// How the NAT updates the UDP checksum after rewriting.
    public enum ChecksumMode: String, Hashable, Sendable, CaseIterable {
        /// RFC 1624 incremental update over the address and the port: correct.
        case recompute
        /// The 2020 Linux bug (kubernetes#88986, fixed by ea64d8d6c675): with tx checksum offload the
        /// checksum is updated for the pseudo-header only, as if the NIC would finish it, so a rewritten
        /// source port leaves it wrong and the far VTEP drops the packet.
        case offloadBug = "offload-bug"
    }

    /// The address packets leave with; nil keeps the source address (port translation only).
    public var sourceAddress: IPAddress?
    /// Ports to translate to.
    public var ports: PortRange = PortRange(1024, 65535)
    /// `--random-fully`: every new flow gets a random port, even if its own was free.
    public var randomFully = false
    public var checksum: ChecksumMode = .recompute
    public init() {}
}

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

/// A DPI box: the protocols it recognises.
public struct DPIOptions: Hashable, Sendable {
    public var protocols: [DPIProtocol] = []
    public init() {}
}
