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
        let first = bytes.getInteger(at: Field.versionAndHeaderLength, as: UInt8.self)
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
        let totalLength = Int(bytes.getInteger(at: Field.totalLength.lowerBound, as: UInt16.self))
        guard totalLength >= headerLength else {
            throw .badLength(.ipv4, offset: frameOffset + Field.totalLength.lowerBound,
                             expected: "total length of at least the header's \(headerLength) bytes", found: totalLength)
        }
        guard totalLength <= bytes.count else {
            throw .truncated(.ipv4, offset: frameOffset + Field.totalLength.lowerBound, needed: totalLength,
                             available: bytes.count)
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

    @inlinable public var version: UInt8 { bytes.getInteger(at: Field.versionAndHeaderLength, as: UInt8.self) >> 4 }
    @inlinable public var headerLength: Int {
        Int(bytes.getInteger(at: Field.versionAndHeaderLength, as: UInt8.self) & 0x0F) * 4
    }
    @inlinable public var typeOfService: UInt8 { bytes.getInteger(at: Field.typeOfService, as: UInt8.self) }
    @inlinable public var totalLength: Int { Int(bytes.getInteger(at: Field.totalLength.lowerBound, as: UInt16.self)) }
    @inlinable public var identification: UInt16 { bytes.getInteger(at: Field.identification.lowerBound, as: UInt16.self) }
    /// Flags (high 3 bits) and fragment offset (low 13 bits, 8-byte units).
    @inlinable var flagsAndOffset: UInt16 { bytes.getInteger(at: Field.flagsAndFragmentOffset.lowerBound, as: UInt16.self) }
    /// The reserved flag bit (RFC 791: must be zero; kept so a decoder can report it).
    @inlinable public var reservedFlag: Bool { flagsAndOffset & 0x8000 != 0 }
    @inlinable public var dontFragment: Bool { flagsAndOffset & 0x4000 != 0 }
    @inlinable public var moreFragments: Bool { flagsAndOffset & 0x2000 != 0 }
    /// Fragment offset in bytes (the field counts 8-byte units).
    @inlinable public var fragmentOffset: Int { Int(flagsAndOffset & 0x1FFF) * 8 }
    /// True for any fragment of a larger datagram, first and last included.
    @inlinable public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    @inlinable public var timeToLive: UInt8 { bytes.getInteger(at: Field.timeToLive, as: UInt8.self) }
    @inlinable public var `protocol`: IPProtocol { IPProtocol(rawValue: bytes.getInteger(at: Field.protocol, as: UInt8.self)) }
    @inlinable public var checksum: UInt16 { bytes.getInteger(at: Field.checksum.lowerBound, as: UInt16.self) }
    @inlinable public var source: IPv4Address { IPv4Address(reading: bytes, at: Field.source.lowerBound) }
    @inlinable public var destination: IPv4Address { IPv4Address(reading: bytes, at: Field.destination.lowerBound) }
    /// The option bytes (empty when IHL is 5), padding included.
    @inlinable public var options: UnsafeRawBufferPointer { bytes.slice(Self.minimumHeaderLength..<headerLength) }
    /// The options one by one, read where they lie.
    @inlinable public var optionSequence: IPv4OptionSequence { IPv4OptionSequence(options) }

    /// RFC 791: the header checksum sums to all ones over the header, options included.
    @inlinable
    public func checksumIsValid() -> Bool { InternetChecksum.checksum(bytes.slice(0..<headerLength)) == 0 }

    /// The checksum the header should carry.
    @inlinable
    public func expectedChecksum() -> UInt16 {
        var state = InternetChecksum()
        state.add(bytes.slice(0..<Field.checksum.lowerBound))
        state.add(bytes.slice(Field.checksum.upperBound..<headerLength))
        return state.checksum
    }

    /// The datagram's payload, up to the total length; Ethernet padding is excluded.
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.slice(headerLength..<totalLength) }
    @inlinable public var payloadOffset: Int { frameOffset + headerLength }

    /// Decrements the TTL of the header at the start of `bytes` in place and patches the checksum by
    /// RFC 1624 instead of summing the header again. Returns the new TTL, or nil (bytes untouched) when
    /// the TTL is already zero or `bytes` is shorter than a header.
    @inlinable
    @discardableResult
    public static func decrementTimeToLive(in bytes: UnsafeMutableRawBufferPointer) -> UInt8? {
        // The TTL and checksum lie in the first 20 bytes, whatever the rest says.
        guard bytes.count >= minimumHeaderLength else { return nil }
        return MutableIPv4Packet(unchecked: bytes, frameOffset: 0).decrementTimeToLive()
    }
}

/// A zero-copy, writable view of an IPv4 packet: ``IPv4Packet``'s getters, a setter for every field,
/// ``fillChecksum()``, and the rewrites NAT and forwarding do, with RFC 1624 checksum updates.
///
/// Made with ``init(checking:frameOffset:)`` (the checks ``IPv4Packet`` makes) or
/// ``init(formatting:headerLength:totalLength:frameOffset:)`` (which writes the version and both length
/// fields, for a header built from scratch). After either, no getter or setter reaches outside
/// ``bytes``: the setters of the two length fields take only values that keep header ≤ total length ≤
/// the buffer, and refuse others as a programming error (precondition).
///
/// A setter writes its field and nothing else; ``fillChecksum()`` recomputes the header checksum. The
/// `rewrite…` methods change a field *and* patch every checksum that covers it, incrementally, as Linux's
/// NAT (`nf_nat_ipv4_manip_pkt`, net/netfilter/nf_nat_proto.c) and forwarding (`ip_decrease_ttl`,
/// include/net/ip.h) do, so a checksum that was wrong stays exactly as wrong.
public struct MutableIPv4Packet {
    public typealias Field = IPv4Packet.Field

    public let bytes: UnsafeMutableRawBufferPointer
    public let frameOffset: Int

    /// - Throws: what ``IPv4Packet/init(checking:frameOffset:)`` throws for the same bytes.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        _ = try IPv4Packet(checking: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset)
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// A view over bytes known to hold a valid header (a fragment the fragmenter just wrote).
    @inlinable
    init(unchecked bytes: UnsafeMutableRawBufferPointer, frameOffset: Int) {
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// Starts a header at the front of `bytes` for the setters to fill: writes version 4, the IHL for
    /// `headerLength` and the total length; every other byte is left as it was.
    /// - Parameters:
    ///   - headerLength: 20 to 60, a multiple of 4.
    ///   - totalLength: header and payload, from `headerLength` to `bytes.count` (and 65535); all of
    ///     `bytes` when nil.
    /// - Precondition: the lengths are as described (a programming error otherwise, not an input error).
    @inlinable
    public init(formatting bytes: UnsafeMutableRawBufferPointer, headerLength: Int = IPv4Packet.minimumHeaderLength,
                totalLength: Int? = nil, frameOffset: Int = 0) {
        let totalLength = totalLength ?? bytes.count
        precondition((IPv4Packet.minimumHeaderLength...60).contains(headerLength) && headerLength % 4 == 0,
                     "IPv4 header length must be 20 to 60, a multiple of 4")
        precondition(headerLength <= totalLength && totalLength <= min(bytes.count, 65535),
                     "IPv4 total length must fit the header and the buffer")
        bytes.setInteger(0x40 | UInt8(headerLength / 4), at: Field.versionAndHeaderLength, as: UInt8.self)
        bytes.setInteger(UInt16(totalLength), at: Field.totalLength.lowerBound, as: UInt16.self)
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// The same bytes, read-only.
    @inlinable
    public var readOnly: IPv4Packet { IPv4Packet(unchecked: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset) }

    /// The version nibble (only its low 4 bits are written).
    @inlinable public var version: UInt8 {
        get { readOnly.version }
        nonmutating set {
            let byte = bytes.getInteger(at: Field.versionAndHeaderLength, as: UInt8.self)
            bytes.setInteger(newValue << 4 | byte & 0x0F, at: Field.versionAndHeaderLength, as: UInt8.self)
        }
    }

    /// Header length in bytes, options included (the IHL field counts 32-bit words).
    /// - Precondition: 20 to 60, a multiple of 4, at most ``totalLength``.
    @inlinable public var headerLength: Int {
        get { readOnly.headerLength }
        nonmutating set {
            precondition((IPv4Packet.minimumHeaderLength...60).contains(newValue) && newValue % 4 == 0
                         && newValue <= totalLength, "IPv4 header length must be 20 to 60, a multiple of 4, within the total length")
            let byte = bytes.getInteger(at: Field.versionAndHeaderLength, as: UInt8.self)
            bytes.setInteger(byte & 0xF0 | UInt8(newValue / 4), at: Field.versionAndHeaderLength, as: UInt8.self)
        }
    }

    /// DSCP (high 6 bits) and ECN (low 2 bits).
    @inlinable public var typeOfService: UInt8 {
        get { readOnly.typeOfService }
        nonmutating set { bytes.setInteger(newValue, at: Field.typeOfService, as: UInt8.self) }
    }

    /// Header and payload in bytes.
    /// - Precondition: from ``headerLength`` to `bytes.count`.
    @inlinable public var totalLength: Int {
        get { readOnly.totalLength }
        nonmutating set {
            precondition(newValue >= headerLength && newValue <= min(bytes.count, 65535),
                         "IPv4 total length must fit the header and the buffer")
            bytes.setInteger(UInt16(newValue), at: Field.totalLength.lowerBound, as: UInt16.self)
        }
    }

    @inlinable public var identification: UInt16 {
        get { readOnly.identification }
        nonmutating set { bytes.setInteger(newValue, at: Field.identification.lowerBound, as: UInt16.self) }
    }

    /// The reserved flag bit (RFC 791: must be zero).
    @inlinable public var reservedFlag: Bool {
        get { readOnly.reservedFlag }
        nonmutating set { setFlag(0x80, newValue) }
    }

    @inlinable public var dontFragment: Bool {
        get { readOnly.dontFragment }
        nonmutating set { setFlag(0x40, newValue) }
    }

    @inlinable public var moreFragments: Bool {
        get { readOnly.moreFragments }
        nonmutating set { setFlag(0x20, newValue) }
    }

    @inlinable
    func setFlag(_ mask: UInt8, _ on: Bool) {
        let byte = bytes.getInteger(at: Field.flagsAndFragmentOffset.lowerBound, as: UInt8.self)
        bytes.setInteger(on ? byte | mask : byte & ~mask, at: Field.flagsAndFragmentOffset.lowerBound, as: UInt8.self)
    }

    /// Fragment offset in bytes (the field counts 8-byte units).
    /// - Precondition: a multiple of 8, at most 8191 × 8.
    @inlinable public var fragmentOffset: Int {
        get { readOnly.fragmentOffset }
        nonmutating set {
            precondition(newValue >= 0 && newValue % 8 == 0 && newValue / 8 <= 0x1FFF,
                         "IPv4 fragment offset must be a multiple of 8 below 65536")
            let field = Field.flagsAndFragmentOffset.lowerBound
            let flags = bytes.getInteger(at: field, as: UInt16.self) & 0xE000
            bytes.setInteger(flags | UInt16(newValue / 8), at: field, as: UInt16.self)
        }
    }

    @inlinable public var isFragment: Bool { readOnly.isFragment }

    @inlinable public var timeToLive: UInt8 {
        get { readOnly.timeToLive }
        nonmutating set { bytes.setInteger(newValue, at: Field.timeToLive, as: UInt8.self) }
    }

    @inlinable public var `protocol`: IPProtocol {
        get { readOnly.protocol }
        nonmutating set { bytes.setInteger(newValue.rawValue, at: Field.protocol, as: UInt8.self) }
    }

    @inlinable public var checksum: UInt16 {
        get { readOnly.checksum }
        nonmutating set { bytes.setInteger(newValue, at: Field.checksum.lowerBound, as: UInt16.self) }
    }

    @inlinable public var source: IPv4Address {
        get { readOnly.source }
        nonmutating set { bytes.setInteger(newValue.rawValue, at: Field.source.lowerBound, as: UInt32.self) }
    }

    @inlinable public var destination: IPv4Address {
        get { readOnly.destination }
        nonmutating set { bytes.setInteger(newValue.rawValue, at: Field.destination.lowerBound, as: UInt32.self) }
    }

    /// The option bytes, writable (empty when IHL is 5).
    @inlinable public var options: UnsafeMutableRawBufferPointer {
        bytes.slice(IPv4Packet.minimumHeaderLength..<headerLength)
    }

    /// The payload up to the total length, writable.
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.slice(headerLength..<totalLength) }
    @inlinable public var payloadOffset: Int { frameOffset + headerLength }

    @inlinable public func checksumIsValid() -> Bool { readOnly.checksumIsValid() }
    @inlinable public func expectedChecksum() -> UInt16 { readOnly.expectedChecksum() }

    /// Computes the header checksum over the header, options included, and writes it (RFC 791).
    @inlinable
    public func fillChecksum() {
        checksum = 0
        checksum = InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(0..<headerLength)))
    }

    // MARK: Rewrites with incremental checksum updates

    /// Sets the TTL and patches the header checksum by RFC 1624 (the TTL shares its 16-bit word with
    /// the protocol).
    @inlinable
    public func rewriteTimeToLive(_ timeToLive: UInt8) {
        let word = Field.timeToLive
        let old = bytes.getInteger(at: word, as: UInt16.self)
        let new = UInt16(timeToLive) << 8 | old & 0x00FF
        bytes.setInteger(new, at: word, as: UInt16.self)
        checksum = InternetChecksum.updated(checksum, replacing: old, with: new)
    }

    /// A router's TTL decrement (RFC 791 §3.2; Linux `ip_decrease_ttl`, which patches the checksum
    /// incrementally as here). Returns the new TTL, or nil, with nothing written, when it is already 0.
    @inlinable
    @discardableResult
    public func decrementTimeToLive() -> UInt8? {
        let ttl = timeToLive
        guard ttl > 0 else { return nil }
        rewriteTimeToLive(ttl - 1)
        return ttl - 1
    }

    /// Source NAT (Linux `nf_nat_ipv4_manip_pkt` with `NF_NAT_MANIP_SRC`): writes `address` as the source
    /// and, when `port` is given, as the TCP or UDP source port (the ICMP echo identifier for an echo
    /// request or reply), patching the header checksum and the transport checksum, whose pseudo-header
    /// covers the address, by RFC 1624. A UDP checksum of 0 ("none") stays 0, and one that comes out
    /// as 0 is sent as 0xFFFF (RFC 768; Linux `CSUM_MANGLED_0`).
    ///
    /// The transport header is touched only when this packet carries it: not a fragment at a non-zero
    /// offset, and its bytes present. As Linux's `tcp_manip_pkt` does, a TCP header cut before its
    /// checksum gets its port rewritten without a checksum update.
    /// - Returns: false when `port` was given but no TCP, UDP or ICMP echo header was there to take it;
    ///   the address is rewritten either way.
    @inlinable
    @discardableResult
    public func rewriteSource(_ address: IPv4Address, port: UInt16? = nil) -> Bool {
        rewriteAddress(at: Field.source.lowerBound, to: address, port: port, isDestination: false)
    }

    /// Destination NAT (Linux `nf_nat_ipv4_manip_pkt` with `NF_NAT_MANIP_DST`); otherwise as
    /// ``rewriteSource(_:port:)``.
    @inlinable
    @discardableResult
    public func rewriteDestination(_ address: IPv4Address, port: UInt16? = nil) -> Bool {
        rewriteAddress(at: Field.destination.lowerBound, to: address, port: port, isDestination: true)
    }

    @inlinable
    func rewriteAddress(at field: Int, to address: IPv4Address, port: UInt16?, isDestination: Bool) -> Bool {
        let old = IPv4Address(rawValue: bytes.getInteger(at: field, as: UInt32.self))
        var portWritten = port == nil
        // The transport header first, as Linux does: its checksum covers the pseudo-header.
        if fragmentOffset == 0 {
            portWritten = TransportRewrite.apply(to: payload, protocol: self.protocol,
                                                 address: .v4(old, address), port: port,
                                                 isDestination: isDestination) || port == nil
        }
        bytes.setInteger(address.rawValue, at: field, as: UInt32.self)
        checksum = InternetChecksum.updated(checksum, replacing: old, with: address)
        return portWritten
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
    /// Option bytes, a multiple of 4 long (RFC 791 pads options to a 32-bit boundary), stored inline.
    public var options: IPv4Options
    /// Bytes after the header; ``emit(into:)`` writes header + payload as the total length.
    public var payloadLength: Int

    public init(typeOfService: UInt8 = 0, identification: UInt16 = 0, reservedFlag: Bool = false,
                dontFragment: Bool = false, moreFragments: Bool = false, fragmentOffset: Int = 0,
                timeToLive: UInt8 = 64, protocol: IPProtocol, source: IPv4Address, destination: IPv4Address,
                options: IPv4Options = [], payloadLength: Int) {
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
    /// - Throws: `badChecksum` when `verifyingChecksum` and the header checksum is wrong.
    @inlinable
    public init(_ packet: IPv4Packet, verifyingChecksum: Bool = true) throws(DecodeError) {
        if verifyingChecksum && !packet.checksumIsValid() {
            throw .badChecksum(.ipv4, offset: packet.frameOffset + IPv4Packet.Field.checksum.lowerBound,
                               expected: packet.expectedChecksum(), found: packet.checksum)
        }
        self.init(typeOfService: packet.typeOfService, identification: packet.identification,
                  reservedFlag: packet.reservedFlag, dontFragment: packet.dontFragment,
                  moreFragments: packet.moreFragments, fragmentOffset: packet.fragmentOffset,
                  timeToLive: packet.timeToLive, protocol: packet.protocol, source: packet.source,
                  destination: packet.destination,
                  options: IPv4Options(packet.options),
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
        bytes.setInteger(0x40 | UInt8(headerLength / 4), at: IPv4Packet.Field.versionAndHeaderLength, as: UInt8.self)
        bytes.setInteger(typeOfService, at: IPv4Packet.Field.typeOfService, as: UInt8.self)
        bytes.setInteger(UInt16(truncatingIfNeeded: totalLength), at: IPv4Packet.Field.totalLength.lowerBound, as: UInt16.self)
        bytes.setInteger(identification, at: IPv4Packet.Field.identification.lowerBound, as: UInt16.self)
        let flags: UInt16 = (reservedFlag ? 0x8000 : 0) | (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0)
        bytes.setInteger(flags | UInt16(truncatingIfNeeded: fragmentOffset / 8) & 0x1FFF, at: IPv4Packet.Field.flagsAndFragmentOffset.lowerBound, as: UInt16.self)
        bytes.setInteger(timeToLive, at: IPv4Packet.Field.timeToLive, as: UInt8.self)
        bytes.setInteger(self.protocol.rawValue, at: IPv4Packet.Field.protocol, as: UInt8.self)
        bytes.setInteger(0, at: IPv4Packet.Field.checksum.lowerBound, as: UInt16.self)
        bytes.setInteger(source.rawValue, at: IPv4Packet.Field.source.lowerBound, as: UInt32.self)
        bytes.setInteger(destination.rawValue, at: IPv4Packet.Field.destination.lowerBound, as: UInt32.self)
        options.withUnsafeBytes { bytes.slice(IPv4Packet.minimumHeaderLength..<headerLength).copyMemory(from: $0) }
        bytes.setInteger(InternetChecksum.checksum(UnsafeRawBufferPointer(bytes.slice(0..<headerLength))), at: IPv4Packet.Field.checksum.lowerBound, as: UInt16.self)
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

/// A lenient view of an IPv4 packet that may stop early: the start of a datagram quoted in an ICMP error
/// (RFC 792: its header and the first 8 bytes of its data; RFC 1812 §4.3.2.3: as much as fits in 576
/// bytes) or a frame cut by a capture's snap length.
///
/// Every field is read when its bytes are there and is nil when they are not; ``shortfall`` says what is
/// missing, ``complete`` gives the strict ``IPv4Packet`` when nothing is. A quoted header plus 8 bytes
/// gives the addresses, the protocol and (``ports``, ``udpDatagram()``) the ports, but a UDP length or a
/// checksum over data that is not there cannot be checked: those answers are nil, not false.
public struct PartialIPv4Packet: CustomStringConvertible {
    public typealias Field = IPv4Packet.Field

    /// The bytes that are there, from the start of the header.
    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    /// - Throws: only what no cut explains: `badVersion` when the version nibble is there and is not 4,
    ///   `badLength` when the IHL is below 5 or the total length below the header length.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        self.bytes = bytes
        self.frameOffset = frameOffset
        if let first = read(Field.versionAndHeaderLength, as: UInt8.self) {
            guard first >> 4 == 4 else {
                throw .badVersion(.ipv4, offset: frameOffset, expected: 4, found: Int(first >> 4))
            }
            let headerLength = Int(first & 0x0F) * 4
            guard headerLength >= IPv4Packet.minimumHeaderLength else {
                throw .badLength(.ipv4, offset: frameOffset, expected: "header length of at least 20 bytes (IHL >= 5)",
                                 found: headerLength)
            }
            if let totalLength = read(Field.totalLength.lowerBound, as: UInt16.self), Int(totalLength) < headerLength {
                throw .badLength(.ipv4, offset: frameOffset + Field.totalLength.lowerBound,
                                 expected: "total length of at least the header's \(headerLength) bytes",
                                 found: Int(totalLength))
            }
        }
    }

    /// The integer at `offset` if all its bytes are there.
    @inlinable
    func read<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T? {
        offset + MemoryLayout<T>.size <= bytes.count ? bytes.getInteger(at: offset, as: T.self) : nil
    }

    @inlinable public var version: UInt8? { read(Field.versionAndHeaderLength, as: UInt8.self).map { $0 >> 4 } }
    /// Header length in bytes, options included.
    @inlinable public var headerLength: Int? {
        read(Field.versionAndHeaderLength, as: UInt8.self).map { Int($0 & 0x0F) * 4 }
    }
    @inlinable public var typeOfService: UInt8? { read(Field.typeOfService, as: UInt8.self) }
    /// The datagram's length as its header announces it (the original's, for a quote).
    @inlinable public var totalLength: Int? { read(Field.totalLength.lowerBound, as: UInt16.self).map(Int.init) }
    @inlinable public var identification: UInt16? { read(Field.identification.lowerBound, as: UInt16.self) }
    @inlinable var flagsAndOffset: UInt16? { read(Field.flagsAndFragmentOffset.lowerBound, as: UInt16.self) }
    @inlinable public var reservedFlag: Bool? { flagsAndOffset.map { $0 & 0x8000 != 0 } }
    @inlinable public var dontFragment: Bool? { flagsAndOffset.map { $0 & 0x4000 != 0 } }
    @inlinable public var moreFragments: Bool? { flagsAndOffset.map { $0 & 0x2000 != 0 } }
    /// Fragment offset in bytes.
    @inlinable public var fragmentOffset: Int? { flagsAndOffset.map { Int($0 & 0x1FFF) * 8 } }
    @inlinable public var isFragment: Bool? { flagsAndOffset.map { $0 & 0x3FFF != 0 } }
    @inlinable public var timeToLive: UInt8? { read(Field.timeToLive, as: UInt8.self) }
    @inlinable public var `protocol`: IPProtocol? { read(Field.protocol, as: UInt8.self).map(IPProtocol.init(rawValue:)) }
    @inlinable public var checksum: UInt16? { read(Field.checksum.lowerBound, as: UInt16.self) }
    @inlinable public var source: IPv4Address? {
        read(Field.source.lowerBound, as: UInt32.self).map(IPv4Address.init(rawValue:))
    }
    @inlinable public var destination: IPv4Address? {
        read(Field.destination.lowerBound, as: UInt32.self).map(IPv4Address.init(rawValue:))
    }

    /// Whether the whole header, options included, is there.
    @inlinable public var hasCompleteHeader: Bool { headerLength.map { bytes.count >= $0 } ?? false }
    /// Whether the whole datagram, as the total length announces it, is there.
    @inlinable public var isComplete: Bool { totalLength.map { hasCompleteHeader && bytes.count >= $0 } ?? false }

    /// The header checksum's verdict; nil when the header is not all there.
    @inlinable public func checksumIsValid() -> Bool? {
        guard let headerLength, bytes.count >= headerLength else { return nil }
        return InternetChecksum.checksum(bytes.slice(0..<headerLength)) == 0
    }

    /// The data that is there after the header, up to the total length; empty when the header is cut.
    @inlinable public var payload: UnsafeRawBufferPointer {
        guard let headerLength, let totalLength, bytes.count >= headerLength else { return bytes.slice(0..<0) }
        return bytes.slice(headerLength..<min(totalLength, bytes.count))
    }
    @inlinable public var payloadOffset: Int { frameOffset + (headerLength ?? IPv4Packet.minimumHeaderLength) }

    /// The first gap: the header cut (20 bytes, or the IHL's), or data the total length announces that
    /// is not there; nil when the datagram is whole.
    @inlinable public var shortfall: Shortfall? {
        let header = headerLength ?? IPv4Packet.minimumHeaderLength
        if bytes.count < max(header, IPv4Packet.minimumHeaderLength) {
            return Shortfall(layer: .ipv4, part: .header, offset: frameOffset,
                             needed: max(header, IPv4Packet.minimumHeaderLength), available: bytes.count)
        }
        if let totalLength, bytes.count < totalLength {
            return Shortfall(layer: .ipv4, part: .payload, offset: frameOffset + Field.totalLength.lowerBound,
                             needed: totalLength, available: bytes.count)
        }
        return nil
    }

    /// The strict view, when the whole datagram is there.
    @inlinable public var complete: IPv4Packet? { try? IPv4Packet(checking: bytes, frameOffset: frameOffset) }

    /// Whether the upper-layer header starts in these bytes: a whole packet or a first fragment.
    @inlinable var carriesUpperLayer: Bool { hasCompleteHeader && fragmentOffset == 0 }

    /// The TCP, UDP or SCTP ports (the first four bytes of each), when this is the datagram's first
    /// piece and they are there: what conntrack matches an ICMP error to its flow by.
    @inlinable public var ports: (source: UInt16, destination: UInt16)? {
        guard carriesUpperLayer, let ipProtocol = self.protocol,
              ipProtocol == .tcp || ipProtocol == .udp || ipProtocol.rawValue == 132 else { return nil }
        let data = payload
        guard data.count >= 4 else { return nil }
        // TCP, UDP and SCTP all open with the source and destination ports.
        return (data.getInteger(at: UDPDatagram.Field.sourcePort.lowerBound, as: UInt16.self),
                data.getInteger(at: UDPDatagram.Field.destinationPort.lowerBound, as: UInt16.self))
    }

    /// The UDP datagram, as much of it as is there; nil when the protocol is not UDP or this is a later
    /// fragment or the IP header is cut.
    /// - Throws: what ``PartialUDPDatagram/init(_:frameOffset:)`` throws.
    @inlinable
    public func udpDatagram() throws(DecodeError) -> PartialUDPDatagram? {
        guard carriesUpperLayer, self.protocol == .udp else { return nil }
        return try PartialUDPDatagram(payload, frameOffset: payloadOffset)
    }

    /// The TCP segment, as much of it as is there, told the length the IP header gives it; nil when the
    /// protocol is not TCP or this is a later fragment or the IP header is cut.
    /// - Throws: what ``PartialTCPSegment/init(_:frameOffset:segmentLength:)`` throws.
    @inlinable
    public func tcpSegment() throws(DecodeError) -> PartialTCPSegment? {
        guard carriesUpperLayer, self.protocol == .tcp, let headerLength, let totalLength else { return nil }
        return try PartialTCPSegment(payload, frameOffset: payloadOffset,
                                     segmentLength: isFragment == true ? nil : totalLength - headerLength)
    }

    /// What is there, then what is missing: `IPv4 192.0.2.1 > 192.0.2.2 UDP ttl 63 id 2570 len 1450 DF
    /// (ipv4 payload cut short: 28 of 1450 bytes present (byte 44))`.
    public var description: String {
        var text = "IPv4"
        if let source, let destination { text += " \(source) > \(destination)" }
        if let ipProtocol = self.protocol { text += " \(ipProtocol.name)" }
        if let timeToLive { text += " ttl \(timeToLive)" }
        if let identification { text += " id \(identification)" }
        if let totalLength { text += " len \(totalLength)" }
        if dontFragment == true { text += " DF" }
        if isFragment == true, let fragmentOffset { text += " frag \(fragmentOffset)\(moreFragments == true ? "+" : "")" }
        if let shortfall { text += " (\(shortfall))" }
        return text
    }
}
