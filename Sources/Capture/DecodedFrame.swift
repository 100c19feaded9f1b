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

    /// The underlay headers.
    public struct Outer: Hashable, Sendable, Codable {
        public var ethernet: Ethernet?
        public var ip: OuterIP?
        public var udp: UDP?

        public init(ethernet: Ethernet? = nil, ip: OuterIP? = nil, udp: UDP? = nil) {
            self.ethernet = ethernet
            self.ip = ip
            self.udp = udp
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
        public var ethernet: Ethernet?
        public var ip: InnerIP?
        /// The inner packet's upper layer in one line, as PacketWire's headers describe themselves
        /// (`TCP 52610 > 8080 [SYN] ...`, `ICMP echo request id 7884 seq 1 ...`, an ARP question); nil
        /// when there is nothing more to say or it does not parse.
        public var summary: String?

        public init(ethernet: Ethernet? = nil, ip: InnerIP? = nil, summary: String? = nil) {
            self.ethernet = ethernet
            self.ip = ip
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
    public var inner: Inner?
    public var error: Failure?

    public init(frame: Int, timestampNanoseconds: UInt64, length: Int, capturedLength: Int,
                outer: Outer = Outer(), fragment: Fragment? = nil, vxlan: VXLAN? = nil, inner: Inner? = nil,
                error: Failure? = nil) {
        self.frame = frame
        self.timestampNanoseconds = timestampNanoseconds
        self.length = length
        self.capturedLength = capturedLength
        self.outer = outer
        self.fragment = fragment
        self.vxlan = vxlan
        self.inner = inner
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
                ("ethernet", outer.ethernet.map(\.json) ?? JSON.null),
                ("ip", outer.ip.map(\.json) ?? JSON.null),
                ("udp", outer.udp.map(\.json) ?? JSON.null),
            ])),
            ("fragment", fragment.map(\.json) ?? JSON.null),
            ("vxlan", vxlan.map(\.json) ?? JSON.null),
            ("inner", inner.map(\.json) ?? JSON.null),
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
            ("ethernet", ethernet.map(\.json) ?? JSON.null),
            ("ip", ip.map(\.json) ?? JSON.null),
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
