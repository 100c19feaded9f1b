import PacketWire

/// What ``FrameDecoder`` read from one frame: plain values, `Codable`, addresses as text.
///
/// A field is `nil` when its layer is absent or could not be read. ``jsonLine`` is the JSON Lines form
/// `overlay-sim decode --json` prints (the contract in DESIGN.md, with explicit `null`s and a fixed key
/// order); `JSONDecoder` reads it back into an equal value.
public struct DecodedFrame: Hashable, Sendable, Codable {
    /// An Ethernet header, outer or inner.
    public struct Ethernet: Hashable, Sendable, Codable {
        public var source: String
        public var destination: String
        /// The VLAN IDs of the 802.1Q / 802.1ad tags, outermost first; empty when untagged.
        public var vlanIDs: [Int]
        /// The EtherType after the tags.
        public var etherType: Int

        public init(source: String, destination: String, vlanIDs: [Int] = [], etherType: Int) {
            self.source = source
            self.destination = destination
            self.vlanIDs = vlanIDs
            self.etherType = etherType
        }
    }

    /// The outer IPv4 or IPv6 header, as this frame carries it.
    public struct OuterIP: Hashable, Sendable, Codable {
        public var version: Int
        public var source: String
        public var destination: String
        /// The upper-layer protocol (for IPv6, after the extension headers).
        public var `protocol`: Int
        /// IPv4 TTL or IPv6 hop limit.
        public var ttl: Int
        /// IPv4 only.
        public var dontFragment: Bool?
        /// IPv4 only.
        public var identification: Int?
        /// Whether the IPv4 header checksum verifies; `nil` for IPv6, which has none, or when the header
        /// is cut short.
        public var checksumValid: Bool?

        public init(version: Int, source: String, destination: String, protocol: Int, ttl: Int,
                    dontFragment: Bool? = nil, identification: Int? = nil, checksumValid: Bool? = nil) {
            self.version = version
            self.source = source
            self.destination = destination
            self.protocol = `protocol`
            self.ttl = ttl
            self.dontFragment = dontFragment
            self.identification = identification
            self.checksumValid = checksumValid
        }
    }

    /// The outer UDP header.
    public struct UDP: Hashable, Sendable, Codable {
        public var sourcePort: Int
        public var destinationPort: Int
        /// The length field: header and data.
        public var length: Int
        public var checksum: Int
        /// `true` or `false` as the checksum verifies; `nil` for a zero checksum over IPv4, which means
        /// "not computed" (RFC 768). A zero checksum over IPv6 is `false` (RFC 8200 §8.1; RFC 6935 lets
        /// a tunnel accept it only when configured to).
        public var checksumValid: Bool?

        public init(sourcePort: Int, destinationPort: Int, length: Int, checksum: Int, checksumValid: Bool?) {
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
            self.length = length
            self.checksum = checksum
            self.checksumValid = checksumValid
        }
    }

    /// A Linux cooked capture header (`tcpdump -i any`): which way the packet went and on which interface.
    public struct LinuxCooked: Hashable, Sendable, Codable {
        /// 1 (LINUX_SLL) or 2 (LINUX_SLL2).
        public var version: Int
        /// The kernel's packet type: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us.
        public var packetType: Int
        /// tcpdump's word for it: `In`, `B`, `M`, `P`, `Out`.
        public var direction: String
        /// The capturing interface's index (version 2 only; version 1 does not record it).
        public var interfaceIndex: Int?
        /// The interface's ARPHRD_ type (1 Ethernet, 772 loopback, 65534 none).
        public var hardwareType: Int
        /// The source link-layer address (a MAC address on Ethernet), or nil when there is none.
        public var source: String?
        /// The EtherType of what follows.
        public var `protocol`: Int

        public init(version: Int, packetType: Int, direction: String, interfaceIndex: Int?, hardwareType: Int,
                    source: String?, protocol: Int) {
            self.version = version
            self.packetType = packetType
            self.direction = direction
            self.interfaceIndex = interfaceIndex
            self.hardwareType = hardwareType
            self.source = source
            self.protocol = `protocol`
        }
    }

    /// The underlay headers.
    public struct Outer: Hashable, Sendable, Codable {
        /// Set for a frame of a Linux cooked capture, in place of ``ethernet``.
        public var linuxCooked: LinuxCooked?
        public var ethernet: Ethernet?
        public var ip: OuterIP?
        public var udp: UDP?

        public init(linuxCooked: LinuxCooked? = nil, ethernet: Ethernet? = nil, ip: OuterIP? = nil, udp: UDP? = nil) {
            self.linuxCooked = linuxCooked
            self.ethernet = ethernet
            self.ip = ip
            self.udp = udp
        }
    }

    /// A VXLAN-GPE header (UDP 4790).
    public struct VXLANGPE: Hashable, Sendable, Codable {
        public var flags: Int
        public var vni: Int
        /// 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS.
        public var nextProtocol: Int
        public var oam: Bool

        public init(flags: Int, vni: Int, nextProtocol: Int, oam: Bool) {
            self.flags = flags
            self.vni = vni
            self.nextProtocol = nextProtocol
            self.oam = oam
        }
    }

    /// A Geneve header (RFC 8926, UDP 6081) with its options.
    public struct Geneve: Hashable, Sendable, Codable {
        public struct Option: Hashable, Sendable, Codable {
            public var optionClass: Int
            public var type: Int
            /// The type's high bit.
            public var critical: Bool
            /// The data, as lowercase hex.
            public var data: String

            public init(optionClass: Int, type: Int, critical: Bool, data: String) {
                self.optionClass = optionClass
                self.type = type
                self.critical = critical
                self.data = data
            }
        }

        public var version: Int
        public var vni: Int
        /// The payload's EtherType: 0x6558 (25944) for Ethernet.
        public var protocolType: Int
        public var oam: Bool
        /// The C bit: a critical option is present.
        public var critical: Bool
        /// Bytes of options (Opt Len × 4).
        public var optionsLength: Int
        public var options: [Option]

        public init(version: Int, vni: Int, protocolType: Int, oam: Bool, critical: Bool, optionsLength: Int,
                    options: [Option]) {
            self.version = version
            self.vni = vni
            self.protocolType = protocolType
            self.oam = oam
            self.critical = critical
            self.optionsLength = optionsLength
            self.options = options
        }
    }

    /// An NSH header (RFC 8300) inside VXLAN-GPE.
    public struct NSH: Hashable, Sendable, Codable {
        public var servicePathIdentifier: Int
        public var serviceIndex: Int
        public var metadataType: Int
        public var nextProtocol: Int
        public var ttl: Int
        public var length: Int

        public init(servicePathIdentifier: Int, serviceIndex: Int, metadataType: Int, nextProtocol: Int, ttl: Int,
                    length: Int) {
            self.servicePathIdentifier = servicePathIdentifier
            self.serviceIndex = serviceIndex
            self.metadataType = metadataType
            self.nextProtocol = nextProtocol
            self.ttl = ttl
            self.length = length
        }
    }

    /// The inner TCP header's fields.
    public struct TCP: Hashable, Sendable, Codable {
        public var sourcePort: Int
        public var destinationPort: Int
        public var sequence: Int
        public var acknowledgment: Int
        /// The 9 flag bits (NS CWR ECE URG ACK PSH RST SYN FIN), as tshark's `tcp.flags`.
        public var flags: Int
        /// The set flags by name, tcpdump's order: `SYN,ACK`.
        public var flagNames: String
        public var window: Int
        /// nil when the segment was not captured whole or is a fragment.
        public var checksumValid: Bool?

        public init(sourcePort: Int, destinationPort: Int, sequence: Int, acknowledgment: Int, flags: Int,
                    flagNames: String, window: Int, checksumValid: Bool?) {
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
            self.sequence = sequence
            self.acknowledgment = acknowledgment
            self.flags = flags
            self.flagNames = flagNames
            self.window = window
            self.checksumValid = checksumValid
        }
    }

    /// The inner UDP header's fields.
    public struct InnerUDP: Hashable, Sendable, Codable {
        public var sourcePort: Int
        public var destinationPort: Int
        public var length: Int
        /// nil for a zero checksum over IPv4, or when the datagram was not captured whole.
        public var checksumValid: Bool?

        public init(sourcePort: Int, destinationPort: Int, length: Int, checksumValid: Bool?) {
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
            self.length = length
            self.checksumValid = checksumValid
        }
    }

    /// The inner ICMP (version 4) or ICMPv6 (version 6) header's type and code.
    public struct ICMP: Hashable, Sendable, Codable {
        public var version: Int
        public var type: Int
        public var code: Int
        public var checksumValid: Bool?

        public init(version: Int, type: Int, code: Int, checksumValid: Bool?) {
            self.version = version
            self.type = type
            self.code = code
            self.checksumValid = checksumValid
        }
    }

    /// Where the capture's snapshot length cut the frame.
    public struct Cut: Hashable, Sendable, Codable {
        /// The layer whose header (``inHeader``) or data the last captured byte falls in.
        public var layer: Layer
        /// Whether that layer is inside the tunnel.
        public var inner: Bool
        /// True when the header itself is incomplete (its fields past the cut are not shown).
        public var inHeader: Bool

        public init(layer: Layer, inner: Bool, inHeader: Bool) {
            self.layer = layer
            self.inner = inner
            self.inHeader = inHeader
        }

        /// `inner tcp header`, `outer udp data`, ...
        public var description: String {
            "\(inner ? "inner " : "")\(layer.rawValue) \(inHeader ? "header" : "data")"
        }
    }

    /// The outer IP fragment this frame carries.
    public struct Fragment: Hashable, Sendable, Codable {
        /// Offset of this fragment's data in the datagram, in bytes.
        public var offset: Int
        public var moreFragments: Bool
        public var identification: Int
        /// On the frame that completed a datagram: the frames whose fragments made it, in arrival order.
        /// `nil` while the datagram is incomplete.
        public var reassembledFrames: [Int]?

        public init(offset: Int, moreFragments: Bool, identification: Int, reassembledFrames: [Int]? = nil) {
            self.offset = offset
            self.moreFragments = moreFragments
            self.identification = identification
            self.reassembledFrames = reassembledFrames
        }
    }

    /// The VXLAN header.
    public struct VXLAN: Hashable, Sendable, Codable {
        /// Byte 0: 0x08 is I, 0x80 is G (group policy).
        public var flags: Int
        public var vni: Int
        /// The group policy ID when the G flag is set (VXLAN-GBP), else `nil`.
        public var groupPolicyID: Int?
        /// Byte 1 when the G flag is set: D (0x40, don't learn) and A (0x08, policy applied).
        public var groupPolicyFlags: Int?

        public init(flags: Int, vni: Int, groupPolicyID: Int? = nil, groupPolicyFlags: Int? = nil) {
            self.flags = flags
            self.vni = vni
            self.groupPolicyID = groupPolicyID
            self.groupPolicyFlags = groupPolicyFlags
        }
    }

    /// The inner IP header's addresses and protocol.
    public struct InnerIP: Hashable, Sendable, Codable {
        public var version: Int
        public var source: String
        public var destination: String
        /// The upper-layer protocol (for IPv6, after the extension headers).
        public var `protocol`: Int

        public init(version: Int, source: String, destination: String, protocol: Int) {
            self.version = version
            self.source = source
            self.destination = destination
            self.protocol = `protocol`
        }
    }

    /// The frame inside the tunnel.
    public struct Inner: Hashable, Sendable, Codable {
        /// The NSH header a VXLAN-GPE packet carried before the inner packet.
        public var nsh: NSH?
        /// Nil when the tunnel carries IP without Ethernet (Geneve with an IP protocol type, VXLAN-GPE).
        public var ethernet: Ethernet?
        public var ip: InnerIP?
        public var tcp: TCP?
        public var udp: InnerUDP?
        public var icmp: ICMP?
        /// The inner packet's upper layer in one line, as PacketWire's headers describe themselves
        /// (`TCP 52610 > 8080 [SYN] ...`, `ICMP echo request id 7884 seq 1 ...`, an ARP question); nil
        /// when there is nothing more to say or it does not parse.
        public var summary: String?

        public init(nsh: NSH? = nil, ethernet: Ethernet? = nil, ip: InnerIP? = nil, tcp: TCP? = nil,
                    udp: InnerUDP? = nil, icmp: ICMP? = nil, summary: String? = nil) {
            self.nsh = nsh
            self.ethernet = ethernet
            self.ip = ip
            self.tcp = tcp
            self.udp = udp
            self.icmp = icmp
            self.summary = summary
        }
    }

    /// The first problem that stopped decoding.
    public struct Failure: Hashable, Sendable, Codable {
        public var kind: DecodeError.Code
        public var layer: Layer
        /// Byte offset from the start of the frame (for a reassembled datagram: from the start of its
        /// Ethernet header followed by the whole datagram).
        public var offset: Int
        public var message: String

        public init(kind: DecodeError.Code, layer: Layer, offset: Int, message: String) {
            self.kind = kind
            self.layer = layer
            self.offset = offset
            self.message = message
        }

        public init(_ error: DecodeError) {
            self.init(kind: error.code, layer: error.layer, offset: error.offset, message: error.description)
        }
    }

    /// The frame's 1-based number in its file.
    public var frame: Int
    public var timestampNanoseconds: UInt64
    /// The frame's length on the wire.
    public var length: Int
    /// The bytes the capture kept; less than ``length`` when cut at the snapshot length.
    public var capturedLength: Int
    public var outer: Outer
    public var fragment: Fragment?
    public var vxlan: VXLAN?
    public var vxlanGPE: VXLANGPE?
    public var geneve: Geneve?
    public var inner: Inner?
    /// Set when the capture kept less than the frame: where it was cut.
    public var cut: Cut?
    public var error: Failure?

    /// Whether the frame is tunnelled: VXLAN, VXLAN-GPE or Geneve.
    public var isTunnelled: Bool { vxlan != nil || vxlanGPE != nil || geneve != nil }

    public init(frame: Int, timestampNanoseconds: UInt64, length: Int, capturedLength: Int,
                outer: Outer = Outer(), fragment: Fragment? = nil, vxlan: VXLAN? = nil, vxlanGPE: VXLANGPE? = nil,
                geneve: Geneve? = nil, inner: Inner? = nil, cut: Cut? = nil, error: Failure? = nil) {
        self.frame = frame
        self.timestampNanoseconds = timestampNanoseconds
        self.length = length
        self.capturedLength = capturedLength
        self.outer = outer
        self.fragment = fragment
        self.vxlan = vxlan
        self.vxlanGPE = vxlanGPE
        self.geneve = geneve
        self.inner = inner
        self.cut = cut
        self.error = error
    }
}

// MARK: - JSON Lines

extension DecodedFrame {
    /// One line of JSON, keys in the order DESIGN.md shows them and `null` for every absent value.
    public var jsonLine: String {
        JSON.object([
            ("frame", JSON.number(frame)),
            ("timestampNanoseconds", JSON.number(timestampNanoseconds)),
            ("length", JSON.number(length)),
            ("capturedLength", JSON.number(capturedLength)),
            ("outer", JSON.object([
                ("linuxCooked", outer.linuxCooked.map(\.json) ?? JSON.null),
                ("ethernet", outer.ethernet.map(\.json) ?? JSON.null),
                ("ip", outer.ip.map(\.json) ?? JSON.null),
                ("udp", outer.udp.map(\.json) ?? JSON.null),
            ])),
            ("fragment", fragment.map(\.json) ?? JSON.null),
            ("vxlan", vxlan.map(\.json) ?? JSON.null),
            ("vxlanGPE", vxlanGPE.map(\.json) ?? JSON.null),
            ("geneve", geneve.map(\.json) ?? JSON.null),
            ("inner", inner.map(\.json) ?? JSON.null),
            ("cut", cut.map(\.json) ?? JSON.null),
            ("error", error.map(\.json) ?? JSON.null),
        ])
    }
}

extension DecodedFrame.Ethernet {
    var json: String {
        JSON.object([
            ("source", JSON.string(source)),
            ("destination", JSON.string(destination)),
            ("vlanIDs", JSON.array(vlanIDs.map(JSON.number))),
            ("etherType", JSON.number(etherType)),
        ])
    }
}

extension DecodedFrame.OuterIP {
    var json: String {
        JSON.object([
            ("version", JSON.number(version)),
            ("source", JSON.string(source)),
            ("destination", JSON.string(destination)),
            ("protocol", JSON.number(self.protocol)),
            ("ttl", JSON.number(ttl)),
            ("dontFragment", JSON.bool(dontFragment)),
            ("identification", JSON.number(identification)),
            ("checksumValid", JSON.bool(checksumValid)),
        ])
    }
}

extension DecodedFrame.UDP {
    var json: String {
        JSON.object([
            ("sourcePort", JSON.number(sourcePort)),
            ("destinationPort", JSON.number(destinationPort)),
            ("length", JSON.number(length)),
            ("checksum", JSON.number(checksum)),
            ("checksumValid", JSON.bool(checksumValid)),
        ])
    }
}

extension DecodedFrame.Fragment {
    var json: String {
        JSON.object([
            ("offset", JSON.number(offset)),
            ("moreFragments", JSON.bool(moreFragments)),
            ("identification", JSON.number(identification)),
            ("reassembledFrames", reassembledFrames.map { JSON.array($0.map(JSON.number)) } ?? JSON.null),
        ])
    }
}

extension DecodedFrame.VXLAN {
    var json: String {
        JSON.object([
            ("flags", JSON.number(flags)),
            ("vni", JSON.number(vni)),
            ("groupPolicyID", JSON.number(groupPolicyID)),
            ("groupPolicyFlags", JSON.number(groupPolicyFlags)),
        ])
    }
}

extension DecodedFrame.Inner {
    var json: String {
        JSON.object([
            ("nsh", nsh.map(\.json) ?? JSON.null),
            ("ethernet", ethernet.map(\.json) ?? JSON.null),
            ("ip", ip.map(\.json) ?? JSON.null),
            ("tcp", tcp.map(\.json) ?? JSON.null),
            ("udp", udp.map(\.json) ?? JSON.null),
            ("icmp", icmp.map(\.json) ?? JSON.null),
            ("summary", summary.map(JSON.string) ?? JSON.null),
        ])
    }
}

extension DecodedFrame.InnerIP {
    var json: String {
        JSON.object([
            ("version", JSON.number(version)),
            ("source", JSON.string(source)),
            ("destination", JSON.string(destination)),
            ("protocol", JSON.number(self.protocol)),
        ])
    }
}

extension DecodedFrame.LinuxCooked {
    var json: String {
        JSON.object([
            ("version", JSON.number(version)), ("packetType", JSON.number(packetType)),
            ("direction", JSON.string(direction)), ("interfaceIndex", JSON.number(interfaceIndex)),
            ("hardwareType", JSON.number(hardwareType)), ("source", source.map(JSON.string) ?? JSON.null),
            ("protocol", JSON.number(self.protocol)),
        ])
    }
}

extension DecodedFrame.VXLANGPE {
    var json: String {
        JSON.object([("flags", JSON.number(flags)), ("vni", JSON.number(vni)),
                     ("nextProtocol", JSON.number(nextProtocol)), ("oam", JSON.bool(oam))])
    }
}

extension DecodedFrame.Geneve {
    var json: String {
        JSON.object([
            ("version", JSON.number(version)), ("vni", JSON.number(vni)), ("protocolType", JSON.number(protocolType)),
            ("oam", JSON.bool(oam)), ("critical", JSON.bool(critical)), ("optionsLength", JSON.number(optionsLength)),
            ("options", JSON.array(options.map { option in
                JSON.object([("optionClass", JSON.number(option.optionClass)), ("type", JSON.number(option.type)),
                             ("critical", JSON.bool(option.critical)), ("data", JSON.string(option.data))])
            })),
        ])
    }
}

extension DecodedFrame.NSH {
    var json: String {
        JSON.object([
            ("servicePathIdentifier", JSON.number(servicePathIdentifier)), ("serviceIndex", JSON.number(serviceIndex)),
            ("metadataType", JSON.number(metadataType)), ("nextProtocol", JSON.number(nextProtocol)),
            ("ttl", JSON.number(ttl)), ("length", JSON.number(length)),
        ])
    }
}

extension DecodedFrame.TCP {
    var json: String {
        JSON.object([
            ("sourcePort", JSON.number(sourcePort)), ("destinationPort", JSON.number(destinationPort)),
            ("sequence", JSON.number(sequence)), ("acknowledgment", JSON.number(acknowledgment)),
            ("flags", JSON.number(flags)), ("flagNames", JSON.string(flagNames)), ("window", JSON.number(window)),
            ("checksumValid", JSON.bool(checksumValid)),
        ])
    }
}

extension DecodedFrame.InnerUDP {
    var json: String {
        JSON.object([("sourcePort", JSON.number(sourcePort)), ("destinationPort", JSON.number(destinationPort)),
                     ("length", JSON.number(length)), ("checksumValid", JSON.bool(checksumValid))])
    }
}

extension DecodedFrame.ICMP {
    var json: String {
        JSON.object([("version", JSON.number(version)), ("type", JSON.number(type)), ("code", JSON.number(code)),
                     ("checksumValid", JSON.bool(checksumValid))])
    }
}

extension DecodedFrame.Cut {
    var json: String {
        JSON.object([("layer", JSON.string(layer.rawValue)), ("inner", JSON.bool(inner)), ("inHeader", JSON.bool(inHeader))])
    }
}

extension DecodedFrame.Failure {
    var json: String {
        JSON.object([
            ("kind", JSON.string(kind.rawValue)),
            ("layer", JSON.string(layer.rawValue)),
            ("offset", JSON.number(offset)),
            ("message", JSON.string(message)),
        ])
    }
}

/// The few JSON spellings the decoder's output needs, written in a fixed order (RFC 8259).
enum JSON {
    static let null = "null"

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    static func array(_ elements: [String]) -> String {
        "[" + elements.joined(separator: ", ") + "]"
    }

    static func number(_ value: some BinaryInteger) -> String { "\(value)" }

    static func number(_ value: (some BinaryInteger)?) -> String { value.map { "\($0)" } ?? null }

    static func bool(_ value: Bool) -> String { value ? "true" : "false" }

    static func bool(_ value: Bool?) -> String { value.map(bool) ?? null }

    /// A string literal, escaping what RFC 8259 §7 requires.
    static func string(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let digits = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}
