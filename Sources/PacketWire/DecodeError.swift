/// The protocol layer a decoding problem was found in.
public enum Layer: String, Sendable, Hashable, CaseIterable, Codable {
    case ethernet, vlan, arp, ipv4, ipv6, udp, tcp, icmpv4, icmpv6, vxlan
    /// Linux cooked capture (`tcpdump -i any`), Geneve (RFC 8926), VXLAN-GPE, NSH (RFC 8300).
    case linuxCooked, geneve, vxlanGPE, nsh
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
