// The IPv6 Fragment extension header (RFC 8200 §4.5), next header 44.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         Identification                        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  fragment data ...
//
// RFC 8200 §4.5: the offset counts 8-octet units from the start of the fragmentable part; M is 1 for
// every fragment but the last; the two reserved fields are sent as zero and ignored on receipt. Unlike
// IPv4, only the source fragments (RFC 8200 §5: routers send Packet Too Big instead).

/// A zero-copy view of an IPv6 Fragment header and the fragment data after it.
///
/// ``init(checking:frameOffset:)`` checks that the 8 header bytes are present; after it succeeds every
/// accessor is in bounds. Make the view over the rest of the IPv6 payload from this header on.
public struct IPv6FragmentPacket {
    public enum Field {
        public static let nextHeader = 0
        public static let reserved = 1
        /// Fragment offset (high 13 bits), two reserved bits, M (bit 0).
        public static let offsetAndFlags = 2..<4
        public static let identification = 4..<8
    }
    public static let headerLength = 8

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    /// - Throws: `truncated` when fewer than 8 bytes are present.
    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.headerLength else {
            throw .truncated(.ipv6, offset: frameOffset, needed: Self.headerLength, available: bytes.count)
        }
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// A view made without any check (smoltcp's `new_unchecked`): the caller has already checked that
    /// the bytes of every getter it calls are there. For hot paths and lenient readers that check lengths
    /// themselves; ``init(checking:frameOffset:)`` is the one that makes every accessor safe.
    @inlinable
    public init(unchecked bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) {
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// What the fragmentable part after the header starts with (in the first fragment).
    @inlinable public var nextHeader: IPProtocol {
        IPProtocol(rawValue: bytes.getInteger(at: Field.nextHeader, as: UInt8.self))
    }
    /// The 8-bit reserved field (sent as zero, ignored on receipt).
    @inlinable public var reserved: UInt8 { bytes.getInteger(at: Field.reserved, as: UInt8.self) }
    @inlinable var offsetAndFlags: UInt16 { bytes.getInteger(at: Field.offsetAndFlags.lowerBound, as: UInt16.self) }
    /// Offset of this fragment's data in the fragmentable part, in bytes (the field counts 8-byte units).
    @inlinable public var fragmentOffset: Int { Int(offsetAndFlags & 0xFFF8) }
    /// The 2-bit reserved field beside M (sent as zero, ignored on receipt).
    @inlinable public var reservedBits: UInt8 { UInt8(truncatingIfNeeded: offsetAndFlags >> 1) & 0x3 }
    /// M: more fragments follow.
    @inlinable public var moreFragments: Bool { offsetAndFlags & 1 != 0 }
    @inlinable public var identification: UInt32 {
        bytes.getInteger(at: Field.identification.lowerBound, as: UInt32.self)
    }
    /// The fragment's data.
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: Self.headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + Self.headerLength }
}

/// An IPv6 Fragment header as a plain value.
public struct IPv6FragmentHeader: Hashable, Sendable, CustomStringConvertible {
    public var nextHeader: IPProtocol
    /// Offset of the fragment's data in bytes; a multiple of 8.
    public var fragmentOffset: Int
    public var moreFragments: Bool
    public var identification: UInt32
    /// The 8-bit and 2-bit reserved fields, kept so a decoder reports what it saw; sent as given.
    public var reserved: UInt8
    public var reservedBits: UInt8

    @inlinable
    public init(nextHeader: IPProtocol, fragmentOffset: Int, moreFragments: Bool, identification: UInt32,
                reserved: UInt8 = 0, reservedBits: UInt8 = 0) {
        self.nextHeader = nextHeader
        self.fragmentOffset = fragmentOffset
        self.moreFragments = moreFragments
        self.identification = identification
        self.reserved = reserved
        self.reservedBits = reservedBits & 0x3
    }

    /// Reads the header from a checked view; cannot fail (RFC 8200 §4.5 has the reserved fields ignored).
    @inlinable
    public init(_ packet: IPv6FragmentPacket) {
        self.init(nextHeader: packet.nextHeader, fragmentOffset: packet.fragmentOffset,
                  moreFragments: packet.moreFragments, identification: packet.identification,
                  reserved: packet.reserved, reservedBits: packet.reservedBits)
    }

    public static let headerLength = IPv6FragmentPacket.headerLength
    /// True for every fragment but the first: the upper-layer header is not in it.
    @inlinable public var isLaterFragment: Bool { fragmentOffset != 0 }

    /// Writes the 8-byte header at the start of `bytes`.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.headerLength, "buffer too small for the IPv6 fragment header")
        precondition(fragmentOffset >= 0 && fragmentOffset % 8 == 0 && fragmentOffset <= 0xFFF8,
                     "IPv6 fragment offset must be a multiple of 8 below 65536")
        bytes.setInteger(nextHeader.rawValue, at: IPv6FragmentPacket.Field.nextHeader, as: UInt8.self)
        bytes.setInteger(reserved, at: IPv6FragmentPacket.Field.reserved, as: UInt8.self)
        let field = UInt16(fragmentOffset) | UInt16(reservedBits & 0x3) << 1 | (moreFragments ? 1 : 0)
        bytes.setInteger(field, at: IPv6FragmentPacket.Field.offsetAndFlags.lowerBound, as: UInt16.self)
        bytes.setInteger(identification, at: IPv6FragmentPacket.Field.identification.lowerBound, as: UInt32.self)
    }

    /// `IPv6 fragment id 0x12345678 off 1232+ next UDP`, tshark-like.
    public var description: String {
        let id = String(identification, radix: 16)
        return "IPv6 fragment id 0x\(String(repeating: "0", count: 8 - id.count))\(id) off \(fragmentOffset)"
            + (moreFragments ? "+" : "") + " next \(nextHeader.name)"
    }
}
