// IPv6 extension headers (RFC 8200 §4) and the options inside hop-by-hop and destination options headers
// (RFC 8200 §4.2).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Next Header  |  Hdr Ext Len  |  type-specific data (options) |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Hdr Ext Len counts 8-octet units after the first 8 (hop-by-hop, routing, destination options); the
// authentication header counts 4-octet units minus 2 (RFC 4302 §2.2); the fragment header is always 8
// bytes and its second byte is reserved (RFC 8200 §4.5, ``IPv6FragmentPacket``).
//
// An option (RFC 8200 §4.2) is a type byte, a data length byte and that many data bytes; Pad1 (type 0)
// is the one option that is a single byte.

/// The two bytes every IPv6 extension header opens with, and each type's length rule.
public enum IPv6ExtensionHeader {
    public enum Field {
        public static let nextHeader = 0
        public static let length = 1
        /// Where the options start in a hop-by-hop or destination options header.
        public static let options = 2
    }
    /// The bytes needed before a header's length is known.
    public static let minimumLength = 2

    /// The header's length in bytes given its length field: (n + 1) × 8 for hop-by-hop, routing and
    /// destination options, (n + 2) × 4 for AH, 8 for a fragment header; nil for a protocol that is not
    /// one of these (the upper layer).
    @inlinable
    public static func length(of type: IPProtocol, lengthField: UInt8) -> Int? {
        switch type {
        case .hopByHopOptions, .ipv6Routing, .destinationOptions: return (Int(lengthField) + 1) * 8
        case .authenticationHeader: return (Int(lengthField) + 2) * 4
        case .ipv6Fragment: return IPv6FragmentPacket.headerLength
        default: return nil
        }
    }
}

/// One option in a hop-by-hop or destination options header (RFC 8200 §4.2).
public enum IPv6Option {
    public enum Field {
        public static let type = 0
        public static let dataLength = 1
        public static let data = 2
    }
    /// Pad1: a single zero byte, no length byte.
    public static let pad1: UInt8 = 0
    /// RFC 2675 §2: Jumbo Payload, whose 4 data bytes are the length of everything after the IPv6 header
    /// when the header's payload length is 0.
    public static let jumboPayload: UInt8 = 0xC2
    public static let jumboPayloadDataLength = 4
}
