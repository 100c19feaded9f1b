// Ethernet II (IEEE 802.3 clause 3.2.6 type interpretation) with IEEE 802.1Q / 802.1ad tags.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 Destination MAC (48 bits)                     |
//  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                               |                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//  |                    Source MAC (48 bits)                       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | TPID 0x8100/0x88A8 (optional) |PCP|D|   VLAN ID (optional)    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          EtherType            |   payload ...
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/// The EtherType of a frame's payload (IEEE 802 numbers). Open to values nobody named yet.
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ipv4 = EtherType(rawValue: 0x0800)
    public static let arp = EtherType(rawValue: 0x0806)
    public static let ipv6 = EtherType(rawValue: 0x86DD)
    /// IEEE 802.1Q customer VLAN tag.
    public static let vlan = EtherType(rawValue: 0x8100)
    /// IEEE 802.1ad service VLAN tag (QinQ outer tag).
    public static let serviceVLAN = EtherType(rawValue: 0x88A8)

    /// Tag protocol identifiers that introduce a VLAN tag (0x9100 is the pre-802.1ad QinQ value).
    @inlinable
    public var isVLANTag: Bool { rawValue == 0x8100 || rawValue == 0x88A8 || rawValue == 0x9100 }

    public var description: String {
        let name = switch self {
        case .ipv4: "IPv4"
        case .arp: "ARP"
        case .ipv6: "IPv6"
        case .vlan: "802.1Q"
        case .serviceVLAN: "802.1ad"
        default: "unknown"
        }
        return "\(name) - \(hex16(rawValue))"
    }
}

/// One IEEE 802.1Q tag: the tag protocol identifier and the tag control information.
public struct VLANTag: Hashable, Sendable, CustomStringConvertible {
    /// The tag's bytes after its TPID (IEEE 802.1Q §9.6): the TCI, then the EtherType of what follows,
    /// as they lie after a Linux cooked header whose protocol field was the TPID.
    public enum Field {
        public static let controlInformation = 0..<2
        public static let encapsulatedEtherType = 2..<4
    }
    /// TPID and TCI.
    public static let length = 4

    public var tagProtocol: EtherType
    /// Priority code point (3 bits, IEEE 802.1p class of service).
    public var priority: UInt8
    /// Drop eligible indicator (1 bit).
    public var dropEligible: Bool
    /// VLAN identifier (12 bits).
    public var vlanID: UInt16

    public init(tagProtocol: EtherType = .vlan, priority: UInt8 = 0, dropEligible: Bool = false, vlanID: UInt16) {
        self.tagProtocol = tagProtocol
        self.priority = priority & 0x7
        self.dropEligible = dropEligible
        self.vlanID = vlanID & 0x0FFF
    }

    @inlinable
    var controlInformation: UInt16 {
        UInt16(priority & 0x7) << 13 | (dropEligible ? 0x1000 : 0) | (vlanID & 0x0FFF)
    }

    public var description: String { "vlan \(vlanID) pcp \(priority)\(dropEligible ? " dei" : "")" }
}

/// Up to two VLAN tags (802.1Q, or 802.1ad QinQ), stored inline so parsing allocates nothing.
public struct VLANTags: Hashable, Sendable, RandomAccessCollection {
    public static let maximumCount = 2
    @usableFromInline var first: VLANTag?
    @usableFromInline var second: VLANTag?

    public init() {}

    public init(_ tags: [VLANTag]) {
        precondition(tags.count <= Self.maximumCount, "at most two VLAN tags")
        first = tags.first
        second = tags.count > 1 ? tags[1] : nil
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { first == nil ? 0 : (second == nil ? 1 : 2) }
    public subscript(position: Int) -> VLANTag {
        switch position {
        case 0: guard let first else { preconditionFailure("index out of range") }; return first
        case 1: guard let second else { preconditionFailure("index out of range") }; return second
        default: preconditionFailure("index out of range")
        }
    }

    @usableFromInline
    mutating func append(_ tag: VLANTag) {
        if first == nil { first = tag } else { second = tag }
    }
}

/// A zero-copy view of an Ethernet II frame.
///
/// After ``init(checking:frameOffset:)`` succeeds every accessor is in bounds.
public struct EthernetFrame {
    public enum Field {
        public static let destination = 0..<6
        public static let source = 6..<12
        public static let etherType = 12..<14
    }
    /// An untagged header: two addresses and the EtherType.
    public static let minimumHeaderLength = 14

    public let bytes: UnsafeRawBufferPointer
    /// Where this frame starts in the bytes being decoded, for error offsets.
    public let frameOffset: Int
    /// Length of the MAC header including any VLAN tags.
    public let headerLength: Int

    /// Checks that the whole MAC header, VLAN tags included, is present.
    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.minimumHeaderLength else {
            throw .truncated(.ethernet, offset: frameOffset, needed: Self.minimumHeaderLength, available: bytes.count)
        }
        var typeOffset = 12
        var tags = 0
        while EtherType(rawValue: bytes.getInteger(at: typeOffset, as: UInt16.self)).isVLANTag {
            tags += 1
            guard tags <= VLANTags.maximumCount else {
                throw .unsupported(.vlan, offset: frameOffset + typeOffset, expected: "at most 2 VLAN tags",
                                   found: "a third tag")
            }
            guard bytes.count >= typeOffset + 6 else {
                throw .truncated(.vlan, offset: frameOffset + typeOffset, needed: typeOffset + 6, available: bytes.count)
            }
            typeOffset += 4
        }
        self.bytes = bytes
        self.frameOffset = frameOffset
        self.headerLength = typeOffset + 2
    }

    /// A view made without any check (smoltcp's `new_unchecked`), taking the MAC header to be
    /// `headerLength` bytes (14: untagged): the caller has already checked that the bytes of every getter
    /// it calls are there. ``init(checking:frameOffset:)`` is the one that walks the tags and makes every
    /// accessor safe.
    @inlinable
    public init(unchecked bytes: UnsafeRawBufferPointer, frameOffset: Int = 0, headerLength: Int = minimumHeaderLength) {
        self.bytes = bytes
        self.frameOffset = frameOffset
        self.headerLength = headerLength
    }

    @inlinable public var destination: MACAddress { MACAddress(reading: bytes, at: Field.destination.lowerBound) }
    @inlinable public var source: MACAddress { MACAddress(reading: bytes, at: Field.source.lowerBound) }
    /// The EtherType after any VLAN tags: what the payload is.
    @inlinable public var etherType: EtherType { EtherType(rawValue: bytes.getInteger(at: headerLength - 2, as: UInt16.self)) }
    @inlinable public var vlanTagCount: Int { (headerLength - Self.minimumHeaderLength) / 4 }

    @inlinable
    public var vlanTags: VLANTags {
        var tags = VLANTags()
        var offset = 12
        while offset < headerLength - 2 {
            let tci = bytes.getInteger(at: offset + 2, as: UInt16.self)
            tags.append(VLANTag(tagProtocol: EtherType(rawValue: bytes.getInteger(at: offset, as: UInt16.self)),
                                priority: UInt8(tci >> 13), dropEligible: tci & 0x1000 != 0, vlanID: tci & 0x0FFF))
            offset += 4
        }
        return tags
    }

    /// The bytes after the MAC header, without copying.
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.dropFirst(count: headerLength) }
    /// Where the payload starts in the bytes being decoded.
    @inlinable public var payloadOffset: Int { frameOffset + headerLength }
}

/// A zero-copy, writable view of an Ethernet II frame: the addresses and the EtherType after the tags.
///
/// The MAC header's length (how many VLAN tags) is fixed when the view is made; the setters write
/// inside it, so none reaches outside ``bytes``. Writing a VLAN TPID as the EtherType makes a frame that
/// reads back with one more tag: the setter writes what it is given.
public struct MutableEthernetFrame {
    public typealias Field = EthernetFrame.Field

    public let bytes: UnsafeMutableRawBufferPointer
    public let frameOffset: Int
    /// Length of the MAC header including any VLAN tags.
    public let headerLength: Int

    /// - Throws: what ``EthernetFrame/init(checking:frameOffset:)`` throws for the same bytes.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        let frame = try EthernetFrame(checking: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset)
        self.bytes = bytes
        self.frameOffset = frameOffset
        self.headerLength = frame.headerLength
    }

    /// An untagged header at the front of `bytes` (at least 14 bytes) for the setters to fill; nothing is
    /// written.
    @inlinable
    public init(formatting bytes: UnsafeMutableRawBufferPointer, frameOffset: Int = 0) {
        precondition(bytes.count >= EthernetFrame.minimumHeaderLength, "buffer too small for the Ethernet header")
        self.bytes = bytes
        self.frameOffset = frameOffset
        self.headerLength = EthernetFrame.minimumHeaderLength
    }

    /// The same bytes, read-only.
    @inlinable
    public var readOnly: EthernetFrame {
        EthernetFrame(unchecked: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset, headerLength: headerLength)
    }

    @inlinable public var destination: MACAddress {
        get { readOnly.destination }
        nonmutating set { newValue.write(into: bytes, at: Field.destination.lowerBound) }
    }

    @inlinable public var source: MACAddress {
        get { readOnly.source }
        nonmutating set { newValue.write(into: bytes, at: Field.source.lowerBound) }
    }

    /// The EtherType after any VLAN tags.
    @inlinable public var etherType: EtherType {
        get { readOnly.etherType }
        nonmutating set { bytes.setInteger(newValue.rawValue, at: headerLength - 2, as: UInt16.self) }
    }

    /// The bytes after the MAC header, writable.
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.dropFirst(count: headerLength) }
    @inlinable public var payloadOffset: Int { frameOffset + headerLength }
}

/// An Ethernet II header as a plain value.
public struct EthernetHeader: Hashable, Sendable, CustomStringConvertible {
    public var destination: MACAddress
    public var source: MACAddress
    public var vlanTags: VLANTags
    public var etherType: EtherType

    public init(destination: MACAddress, source: MACAddress, vlanTags: VLANTags = VLANTags(), etherType: EtherType) {
        self.destination = destination
        self.source = source
        self.vlanTags = vlanTags
        self.etherType = etherType
    }

    /// Reads the header from a checked view; cannot fail.
    @inlinable
    public init(_ frame: EthernetFrame) {
        self.init(destination: frame.destination, source: frame.source, vlanTags: frame.vlanTags,
                  etherType: frame.etherType)
    }

    /// Bytes this header occupies on the wire.
    @inlinable public var headerLength: Int { EthernetFrame.minimumHeaderLength + 4 * vlanTags.count }

    /// Writes the header at the start of `bytes`, which must hold ``headerLength`` bytes.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= headerLength, "buffer too small for the Ethernet header")
        destination.write(into: bytes, at: EthernetFrame.Field.destination.lowerBound)
        source.write(into: bytes, at: EthernetFrame.Field.source.lowerBound)
        var offset = 12
        for tag in vlanTags {
            bytes.setInteger(tag.tagProtocol.rawValue, at: offset, as: UInt16.self)
            bytes.setInteger(tag.controlInformation, at: offset + 2, as: UInt16.self)
            offset += 4
        }
        bytes.setInteger(etherType.rawValue, at: offset, as: UInt16.self)
    }

    public var description: String {
        let tags = vlanTags.map { " [\($0)]" }.joined()
        return "Ethernet \(source) > \(destination)\(tags) \(etherType)"
    }
}
