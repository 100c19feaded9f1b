/// The protocol layer a decoding problem was found in.
public enum Layer: String, Sendable, Hashable, CaseIterable, Codable {
    case ethernet, vlan, arp, ipv4, ipv6, udp, tcp, icmpv4, icmpv6, vxlan
    /// Linux cooked capture (`tcpdump -i any`), Geneve (RFC 8926), VXLAN-GPE, NSH (RFC 8300).
    case linuxCooked, geneve, vxlanGPE, nsh
    /// WireGuard (wireguard.com/papers/wireguard.pdf §5.4).
    case wireguard
}

/// Why a frame could not be decoded: the first problem found, with where it was.
///
/// Tests match ``code``; people read ``description``. Created through the static factories so every
/// error of one kind carries the same facts.
public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable {
        /// Fewer bytes than the header or a length field requires.
        case truncated
        /// A checksum did not verify.
        case badChecksum
        /// A version field holds a value this layer does not speak.
        case badVersion
        /// A length field is impossible (smaller than the header, larger than the packet).
        case badLength
        /// A field holds a value the standard forbids.
        case badValue
        /// Valid on the wire but not something this decoder handles.
        case unsupported
    }

    public let code: Code
    public let layer: Layer
    /// Byte offset from the start of the frame where the faulty field begins.
    public let offset: Int
    public let expected: String
    public let found: String

    public init(code: Code, layer: Layer, offset: Int, expected: String, found: String) {
        self.code = code
        self.layer = layer
        self.offset = offset
        self.expected = expected
        self.found = found
    }

    public var description: String {
        "\(layer.rawValue): \(code.rawValue) at byte \(offset): expected \(expected), found \(found)"
    }

    public static func truncated(_ layer: Layer, offset: Int, needed: Int, available: Int) -> DecodeError {
        DecodeError(code: .truncated, layer: layer, offset: offset,
                    expected: "\(needed) bytes", found: "\(available)")
    }

    public static func badChecksum(_ layer: Layer, offset: Int, expected: UInt16, found: UInt16) -> DecodeError {
        DecodeError(code: .badChecksum, layer: layer, offset: offset,
                    expected: hex16(expected), found: hex16(found))
    }

    public static func badVersion(_ layer: Layer, offset: Int, expected: Int, found: Int) -> DecodeError {
        DecodeError(code: .badVersion, layer: layer, offset: offset,
                    expected: "version \(expected)", found: "\(found)")
    }

    public static func badLength(_ layer: Layer, offset: Int, expected: String, found: Int) -> DecodeError {
        DecodeError(code: .badLength, layer: layer, offset: offset, expected: expected, found: "\(found)")
    }

    public static func badValue(_ layer: Layer, offset: Int, expected: String, found: String) -> DecodeError {
        DecodeError(code: .badValue, layer: layer, offset: offset, expected: expected, found: found)
    }

    public static func unsupported(_ layer: Layer, offset: Int, expected: String, found: String) -> DecodeError {
        DecodeError(code: .unsupported, layer: layer, offset: offset, expected: expected, found: found)
    }
}

@usableFromInline
func hex16(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 4 - digits.count) + digits
}

/// What a lenient view found missing: a header cut short, or fewer bytes than a length field announces.
///
/// Lenient views (``PartialIPv4Packet``, ``PartialIPv6Packet``, ``PartialUDPDatagram``,
/// ``PartialTCPSegment``) read what is there and report the first gap with this instead of throwing:
/// an ICMP error quotes only the start of a datagram by design (RFC 792), and a capture's snap length
/// cuts frames on purpose.
public struct Shortfall: Hashable, Sendable, CustomStringConvertible {
    /// Which part of the layer is cut.
    public enum Part: String, Sendable, Hashable, Codable {
        /// The header itself (its fixed part, or the options its length field announces).
        case header
        /// The data after a whole header, as the layer's length field (or the one below) announces it.
        case payload
    }

    public let layer: Layer
    public let part: Part
    /// The byte in the frame the strict view's error names: the layer's start when its fixed header is
    /// cut, otherwise the length field that announced the missing bytes (IPv4 total length, UDP length,
    /// IPv6 payload length, TCP data offset). A TCP segment cut before the end the IP header announces
    /// names the segment's start.
    public let offset: Int
    /// Bytes the layer needs from its start: its header, or header and data.
    public let needed: Int
    /// Bytes that are there from the layer's start.
    public let available: Int

    public init(layer: Layer, part: Part, offset: Int, needed: Int, available: Int) {
        self.layer = layer
        self.part = part
        self.offset = offset
        self.needed = needed
        self.available = available
    }

    /// Bytes missing.
    public var missing: Int { needed - available }

    /// The error the strict view (``IPv4Packet``, ``UDPDatagram``, ...) throws for the same bytes.
    public var error: DecodeError { .truncated(layer, offset: offset, needed: needed, available: available) }

    /// `udp payload cut short: 8 of 1430 bytes present (byte 66)`.
    public var description: String {
        "\(layer.rawValue) \(part.rawValue) cut short: \(available) of \(needed) bytes present (byte \(offset))"
    }
}
