// IPv4 (RFC 791 §3.1).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version|  IHL  |   DSCP    |ECN|          Total Length         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Identification        |R|D|M|      Fragment Offset    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Time to Live |    Protocol   |         Header Checksum       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                       Source Address                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Destination Address                        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Options (IHL > 5)          |    Padding    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/// A zero-copy view of an IPv4 packet.
///
/// ``init(checking:frameOffset:)`` checks version, IHL and total length against the bytes present;
/// after it succeeds every accessor is in bounds. Bytes past the total length (Ethernet padding) are
/// ignored by ``payload``.
public struct IPv4Packet {
    public enum Field {
        public static let versionAndHeaderLength = 0
        public static let typeOfService = 1
        public static let totalLength = 2..<4
        public static let identification = 4..<6
        public static let flagsAndFragmentOffset = 6..<8
        public static let timeToLive = 8
        public static let `protocol` = 9
        public static let checksum = 10..<12
        public static let source = 12..<16
        public static let destination = 16..<20
    }
    public static let minimumHeaderLength = 20

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.minimumHeaderLength else {
            throw .truncated(.ipv4, offset: frameOffset, needed: Self.minimumHeaderLength, available: bytes.count)
        }
        let first = bytes.getInteger(at: 0, as: UInt8.self)
        guard first >> 4 == 4 else {
            throw .badVersion(.ipv4, offset: frameOffset, expected: 4, found: Int(first >> 4))
        }
        let headerLength = Int(first & 0x0F) * 4
        guard headerLength >= Self.minimumHeaderLength else {
            throw .badLength(.ipv4, offset: frameOffset, expected: "header length of at least 20 bytes (IHL >= 5)",
                             found: headerLength)
        }
        guard bytes.count >= headerLength else {
            throw .truncated(.ipv4, offset: frameOffset, needed: headerLength, available: bytes.count)
        }
        let totalLength = Int(bytes.getInteger(at: 2, as: UInt16.self))
        guard totalLength >= headerLength else {
            throw .badLength(.ipv4, offset: frameOffset + 2,
                             expected: "total length of at least the header's \(headerLength) bytes", found: totalLength)
        }
        guard totalLength <= bytes.count else {
            throw .truncated(.ipv4, offset: frameOffset + 2, needed: totalLength, available: bytes.count)
        }
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    @inlinable public var version: UInt8 { bytes.getInteger(at: 0, as: UInt8.self) >> 4 }
    @inlinable public var headerLength: Int { Int(bytes.getInteger(at: 0, as: UInt8.self) & 0x0F) * 4 }
    @inlinable public var typeOfService: UInt8 { bytes.getInteger(at: 1, as: UInt8.self) }
    @inlinable public var totalLength: Int { Int(bytes.getInteger(at: 2, as: UInt16.self)) }
    @inlinable public var identification: UInt16 { bytes.getInteger(at: 4, as: UInt16.self) }
    /// The reserved flag bit (RFC 791: must be zero; kept so a decoder can report it).
    @inlinable public var reservedFlag: Bool { bytes.getInteger(at: 6, as: UInt8.self) & 0x80 != 0 }
    @inlinable public var dontFragment: Bool { bytes.getInteger(at: 6, as: UInt8.self) & 0x40 != 0 }
    @inlinable public var moreFragments: Bool { bytes.getInteger(at: 6, as: UInt8.self) & 0x20 != 0 }
    /// Fragment offset in bytes (the field counts 8-byte units).
    @inlinable public var fragmentOffset: Int { Int(bytes.getInteger(at: 6, as: UInt16.self) & 0x1FFF) * 8 }
    /// True for any fragment of a larger datagram, first and last included.
    @inlinable public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    @inlinable public var timeToLive: UInt8 { bytes.getInteger(at: 8, as: UInt8.self) }
    @inlinable public var `protocol`: IPProtocol { IPProtocol(rawValue: bytes.getInteger(at: 9, as: UInt8.self)) }
    @inlinable public var checksum: UInt16 { bytes.getInteger(at: 10, as: UInt16.self) }
    @inlinable public var source: IPv4Address { IPv4Address(rawValue: bytes.getInteger(at: 12, as: UInt32.self)) }
    @inlinable public var destination: IPv4Address { IPv4Address(rawValue: bytes.getInteger(at: 16, as: UInt32.self)) }
    @inlinable public var options: UnsafeRawBufferPointer { bytes.slice(20..<headerLength) }

    /// RFC 791: the header checksum sums to all ones over the header, options included.
    @inlinable
    public var checksumIsValid: Bool { InternetChecksum.checksum(bytes.slice(0..<headerLength)) == 0 }

    /// The datagram's payload, up to the total length; Ethernet padding is excluded.
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.slice(headerLength..<totalLength) }
    @inlinable public var payloadOffset: Int { frameOffset + headerLength }

    /// Decrements the TTL of the header at the start of `bytes` in place and patches the checksum by
    /// RFC 1624 instead of summing the header again. Returns the new TTL, or nil (bytes untouched) when
    /// the TTL is already zero or `bytes` is shorter than a header.
    @inlinable
    @discardableResult
    public static func decrementTimeToLive(in bytes: UnsafeMutableRawBufferPointer) -> UInt8? {
        guard bytes.count >= minimumHeaderLength else { return nil }
        let ttl = bytes.load(fromByteOffset: 8, as: UInt8.self)
        guard ttl > 0 else { return nil }
        let oldWord = bytes.getInteger(at: 8, as: UInt16.self)
        let newWord = oldWord &- 0x0100
        bytes.setInteger(newWord, at: 8, as: UInt16.self)
        bytes.setInteger(InternetChecksum.updated(bytes.getInteger(at: 10, as: UInt16.self), replacing: oldWord, with: newWord), at: 10, as: UInt16.self)
        return ttl - 1
    }
}

/// An IPv4 header as a plain value.
public struct IPv4Header: Hashable, Sendable, CustomStringConvertible {
    /// DSCP (high 6 bits) and ECN (low 2 bits, RFC 3168).
    public var typeOfService: UInt8
    public var identification: UInt16
    public var reservedFlag: Bool
    public var dontFragment: Bool
    public var moreFragments: Bool
    /// Offset of this fragment's data in bytes; a multiple of 8.
    public var fragmentOffset: Int
    public var timeToLive: UInt8
    public var `protocol`: IPProtocol
    public var source: IPv4Address
    public var destination: IPv4Address
    /// Raw option bytes, a multiple of 4 long (RFC 791 pads options to a 32-bit boundary).
    public var options: [UInt8]
    /// Bytes after the header; ``emit(into:)`` writes header + payload as the total length.
    public var payloadLength: Int

    public init(typeOfService: UInt8 = 0, identification: UInt16 = 0, reservedFlag: Bool = false,
                dontFragment: Bool = false, moreFragments: Bool = false, fragmentOffset: Int = 0,
                timeToLive: UInt8 = 64, protocol: IPProtocol, source: IPv4Address, destination: IPv4Address,
                options: [UInt8] = [], payloadLength: Int) {
        self.typeOfService = typeOfService
        self.identification = identification
        self.reservedFlag = reservedFlag
        self.dontFragment = dontFragment
        self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset
        self.timeToLive = timeToLive
        self.protocol = `protocol`
        self.source = source
        self.destination = destination
        self.options = options
        self.payloadLength = payloadLength
    }

    /// Reads the header from a checked view.
    /// - Throws: `badChecksum` when `verifyChecksum` and the header checksum is wrong.
    @inlinable
    public init(_ packet: IPv4Packet, verifyChecksum: Bool = true) throws(DecodeError) {
        if verifyChecksum && !packet.checksumIsValid {
            var fixed = InternetChecksum()
            fixed.add(packet.bytes.slice(0..<10))
            fixed.add(packet.bytes.slice(12..<packet.headerLength))
            throw .badChecksum(.ipv4, offset: packet.frameOffset + 10, expected: fixed.checksum, found: packet.checksum)
        }
        self.init(typeOfService: packet.typeOfService, identification: packet.identification,
                  reservedFlag: packet.reservedFlag, dontFragment: packet.dontFragment,
                  moreFragments: packet.moreFragments, fragmentOffset: packet.fragmentOffset,
                  timeToLive: packet.timeToLive, protocol: packet.protocol, source: packet.source,
                  destination: packet.destination,
                  options: packet.headerLength > 20 ? Array(packet.options) : [],
                  payloadLength: packet.totalLength - packet.headerLength)
    }

    @inlinable public var headerLength: Int { IPv4Packet.minimumHeaderLength + options.count }
    @inlinable public var totalLength: Int { headerLength + payloadLength }
    @inlinable public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    /// Differentiated services code point (RFC 2474).
    @inlinable public var dscp: UInt8 { typeOfService >> 2 }
    /// Explicit congestion notification (RFC 3168).
    @inlinable public var ecn: UInt8 { typeOfService & 0x3 }

    /// Writes the header at the start of `bytes` with the total length and checksum filled in.
    /// `bytes` must hold at least ``headerLength`` bytes; the payload is not touched.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= headerLength, "buffer too small for the IPv4 header")
        precondition(options.count % 4 == 0 && options.count <= 40, "IPv4 options must be padded to 4 bytes, at most 40")
        bytes.setInteger(0x40 | UInt8(headerLength / 4), at: 0, as: UInt8.self)
        bytes.setInteger(typeOfService, at: 1, as: UInt8.self)
        bytes.setInteger(UInt16(truncatingIfNeeded: totalLength), at: 2, as: UInt16.self)
        bytes.setInteger(identification, at: 4, as: UInt16.self)
        let flags: UInt16 = (reservedFlag ? 0x8000 : 0) | (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0)
        bytes.setInteger(flags | UInt16(truncatingIfNeeded: fragmentOffset / 8) & 0x1FFF, at: 6, as: UInt16.self)
        bytes.setInteger(timeToLive, at: 8, as: UInt8.self)
        bytes.setInteger(self.protocol.rawValue, at: 9, as: UInt8.self)
        bytes.setInteger(0, at: 10, as: UInt16.self)
        bytes.setInteger(source.rawValue, at: 12, as: UInt32.self)
        bytes.setInteger(destination.rawValue, at: 16, as: UInt32.self)
        if !options.isEmpty {
            options.withUnsafeBytes { bytes.baseAddress!.advanced(by: 20).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(0..<headerLength))), at: 10, as: UInt16.self)
    }

    /// Adds the RFC 768 / RFC 793 pseudo-header for an upper-layer checksum of `upperLength` bytes.
    @inlinable
    public static func addPseudoHeader(to checksum: inout InternetChecksum, source: IPv4Address,
                                       destination: IPv4Address, protocol: IPProtocol, upperLength: Int) {
        checksum.add(doubleWord: source.rawValue)
        checksum.add(doubleWord: destination.rawValue)
        checksum.add(word: UInt16(`protocol`.rawValue))
        checksum.add(word: UInt16(truncatingIfNeeded: upperLength))
    }

    public var description: String {
        var text = "IPv4 \(source) > \(destination) \(self.protocol.name) ttl \(timeToLive) id \(identification) len \(totalLength)"
        if dontFragment { text += " DF" }
        if isFragment { text += " frag \(fragmentOffset)\(moreFragments ? "+" : "")" }
        return text
    }
}
