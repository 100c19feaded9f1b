// UDP (RFC 768).
//
//   0      7 8     15 16    23 24    31
//  +--------+--------+--------+--------+
//  |   Source Port   |  Destination    |
//  |                 |     Port        |
//  +--------+--------+--------+--------+
//  |     Length      |    Checksum     |
//  +--------+--------+--------+--------+
//  |          data octets ...
//  +---------------- ...

/// The addresses an upper-layer checksum covers (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6).
public enum PseudoHeader: Hashable, Sendable {
    case ipv4(source: IPv4Address, destination: IPv4Address)
    case ipv6(source: IPv6Address, destination: IPv6Address)

    /// Adds this pseudo-header for `upperLength` bytes of `protocol` to `checksum`.
    @inlinable
    public func add(to checksum: inout InternetChecksum, protocol: IPProtocol, upperLength: Int) {
        switch self {
        case let .ipv4(source, destination):
            IPv4Header.addPseudoHeader(to: &checksum, source: source, destination: destination,
                                       protocol: `protocol`, upperLength: upperLength)
        case let .ipv6(source, destination):
            checksum.add(doubleWord: UInt32(truncatingIfNeeded: source.high >> 32))
            checksum.add(doubleWord: UInt32(truncatingIfNeeded: source.high))
            checksum.add(doubleWord: UInt32(truncatingIfNeeded: source.low >> 32))
            checksum.add(doubleWord: UInt32(truncatingIfNeeded: source.low))
            checksum.add(doubleWord: UInt32(truncatingIfNeeded: destination.high >> 32))
            checksum.add(doubleWord: UInt32(truncatingIfNeeded: destination.high))
            checksum.add(doubleWord: UInt32(truncatingIfNeeded: destination.low >> 32))
            checksum.add(doubleWord: UInt32(truncatingIfNeeded: destination.low))
            checksum.add(doubleWord: UInt32(truncatingIfNeeded: upperLength))
            checksum.add(word: UInt16(`protocol`.rawValue))
        }
    }

    /// The checksum of `bytes` (an upper-layer header and its data) under this pseudo-header.
    @inlinable
    public func checksum(of bytes: UnsafeRawBufferPointer, protocol: IPProtocol) -> UInt16 {
        var state = InternetChecksum()
        add(to: &state, protocol: `protocol`, upperLength: bytes.count)
        state.add(bytes)
        return state.checksum
    }
}

/// A zero-copy view of a UDP datagram.
///
/// ``init(checking:frameOffset:)`` checks the header and that the length field fits the bytes;
/// bytes past the length field are ignored.
public struct UDPDatagram {
    public enum Field {
        public static let sourcePort = 0..<2
        public static let destinationPort = 2..<4
        public static let length = 4..<6
        public static let checksum = 6..<8
    }
    public static let headerLength = 8

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    @inlinable
    public init(checking bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        guard bytes.count >= Self.headerLength else {
            throw .truncated(.udp, offset: frameOffset, needed: Self.headerLength, available: bytes.count)
        }
        let length = Int(bytes.getInteger(at: Field.length.lowerBound, as: UInt16.self))
        guard length >= Self.headerLength else {
            throw .badLength(.udp, offset: frameOffset + Field.length.lowerBound, expected: "length of at least 8",
                             found: length)
        }
        guard length <= bytes.count else {
            throw .truncated(.udp, offset: frameOffset + Field.length.lowerBound, needed: length, available: bytes.count)
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

    @inlinable public var sourcePort: UInt16 { bytes.getInteger(at: Field.sourcePort.lowerBound, as: UInt16.self) }
    @inlinable public var destinationPort: UInt16 { bytes.getInteger(at: Field.destinationPort.lowerBound, as: UInt16.self) }
    @inlinable public var length: Int { Int(bytes.getInteger(at: Field.length.lowerBound, as: UInt16.self)) }
    @inlinable public var checksum: UInt16 { bytes.getInteger(at: Field.checksum.lowerBound, as: UInt16.self) }
    /// The datagram as the length field bounds it: header and data.
    @inlinable public var datagram: UnsafeRawBufferPointer { bytes.slice(0..<length) }
    @inlinable public var payload: UnsafeRawBufferPointer { bytes.slice(Self.headerLength..<length) }
    @inlinable public var payloadOffset: Int { frameOffset + Self.headerLength }

    /// RFC 768: a datagram whose checksum sums to all ones with its pseudo-header is intact. A zero
    /// checksum means "not computed" and is not checked here; IPv4 allows it, IPv6 only by RFC 6935.
    @inlinable
    public func checksumIsValid(_ pseudoHeader: PseudoHeader) -> Bool {
        pseudoHeader.checksum(of: datagram, protocol: .udp) == 0
    }

    /// The checksum the datagram should carry under `pseudoHeader`.
    @inlinable
    public func expectedChecksum(_ pseudoHeader: PseudoHeader) -> UInt16 {
        var state = InternetChecksum()
        pseudoHeader.add(to: &state, protocol: .udp, upperLength: length)
        state.add(datagram.slice(0..<Field.checksum.lowerBound))
        state.add(datagram.slice(Field.checksum.upperBound..<length))
        let sum = state.checksum
        return sum == 0 ? 0xFFFF : sum
    }
}

/// A zero-copy, writable view of a UDP datagram: ``UDPDatagram``'s getters, a setter for every field,
/// ``fillChecksum(_:)``, and port and address rewrites with RFC 1624 checksum updates.
///
/// After ``init(checking:frameOffset:)`` or ``init(formatting:length:frameOffset:)`` no getter or
/// setter reaches outside ``bytes``: the length setter takes only 8 to `bytes.count`.
///
/// UDP's checksum rules hold in every rewrite, as Linux's `__udp_manip_pkt` (net/netfilter/nf_nat_proto.c)
/// keeps them: a checksum of 0 means "none" (RFC 768) and stays 0; a checksum that comes out as 0 is
/// sent as 0xFFFF, its one's-complement twin (`CSUM_MANGLED_0`).
public struct MutableUDPDatagram {
    public typealias Field = UDPDatagram.Field

    public let bytes: UnsafeMutableRawBufferPointer
    public let frameOffset: Int

    /// - Throws: what ``UDPDatagram/init(checking:frameOffset:)`` throws for the same bytes.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        _ = try UDPDatagram(checking: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset)
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// Starts a datagram at the front of `bytes` for the setters to fill: writes the length field;
    /// every other byte is left as it was.
    /// - Parameter length: header and data, 8 to `bytes.count` (and 65535); all of `bytes` when nil.
    @inlinable
    public init(formatting bytes: UnsafeMutableRawBufferPointer, length: Int? = nil, frameOffset: Int = 0) {
        let length = length ?? bytes.count
        precondition(length >= UDPDatagram.headerLength && length <= min(bytes.count, 65535),
                     "UDP length must fit the header and the buffer")
        bytes.setInteger(UInt16(length), at: Field.length.lowerBound, as: UInt16.self)
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    /// Over at least the 8 header bytes, whatever the length field says: only the header is touched
    /// (the NAT rewrites of a datagram inside an IPv4 or IPv6 view).
    @inlinable
    init(header bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
        self.frameOffset = 0
    }

    /// The same bytes, read-only.
    @inlinable
    public var readOnly: UDPDatagram { UDPDatagram(unchecked: UnsafeRawBufferPointer(bytes), frameOffset: frameOffset) }

    @inlinable public var sourcePort: UInt16 {
        get { readOnly.sourcePort }
        nonmutating set { bytes.setInteger(newValue, at: Field.sourcePort.lowerBound, as: UInt16.self) }
    }

    @inlinable public var destinationPort: UInt16 {
        get { readOnly.destinationPort }
        nonmutating set { bytes.setInteger(newValue, at: Field.destinationPort.lowerBound, as: UInt16.self) }
    }

    /// Header and data in bytes.
    /// - Precondition: 8 to `bytes.count`.
    @inlinable public var length: Int {
        get { readOnly.length }
        nonmutating set {
            precondition(newValue >= UDPDatagram.headerLength && newValue <= min(bytes.count, 65535),
                         "UDP length must fit the header and the buffer")
            bytes.setInteger(UInt16(newValue), at: Field.length.lowerBound, as: UInt16.self)
        }
    }

    @inlinable public var checksum: UInt16 {
        get { readOnly.checksum }
        nonmutating set { bytes.setInteger(newValue, at: Field.checksum.lowerBound, as: UInt16.self) }
    }

    /// The data up to the length field, writable.
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.slice(UDPDatagram.headerLength..<length) }
    @inlinable public var payloadOffset: Int { frameOffset + UDPDatagram.headerLength }

    @inlinable
    public func checksumIsValid(_ pseudoHeader: PseudoHeader) -> Bool { readOnly.checksumIsValid(pseudoHeader) }

    /// Computes the checksum over `pseudoHeader`, header and data (up to the length field) and writes
    /// it; a computed 0 is written as 0xFFFF (RFC 768).
    @inlinable
    public func fillChecksum(_ pseudoHeader: PseudoHeader) {
        checksum = 0
        let sum = pseudoHeader.checksum(of: UnsafeRawBufferPointer(bytes.slice(0..<length)), protocol: .udp)
        checksum = sum == 0 ? 0xFFFF : sum
    }

    /// Sets the source port, patching a non-zero checksum by RFC 1624.
    @inlinable
    public func rewriteSourcePort(_ port: UInt16) {
        updateChecksum(replacing: sourcePort, with: port)
        sourcePort = port
    }

    /// Sets the destination port, patching a non-zero checksum by RFC 1624.
    @inlinable
    public func rewriteDestinationPort(_ port: UInt16) {
        updateChecksum(replacing: destinationPort, with: port)
        destinationPort = port
    }

    /// Patches a non-zero checksum for a pseudo-header address that changed from `old` to `new` (the
    /// IP header's address is the caller's to write): Linux's `inet_proto_csum_replace4`.
    @inlinable
    public func updateChecksum(replacingAddress old: IPv4Address, with new: IPv4Address) {
        let current = checksum
        guard current != 0 else { return }
        let sum = InternetChecksum.updated(current, replacing: old, with: new)
        checksum = sum == 0 ? 0xFFFF : sum
    }

    /// Patches a non-zero checksum for an IPv6 pseudo-header address that changed from `old` to `new`:
    /// Linux's `inet_proto_csum_replace16`. (A zero checksum over IPv6 is kept as Linux's NAT keeps it,
    /// though RFC 8200 §8.1 allows it only for tunnels, RFC 6935.)
    @inlinable
    public func updateChecksum(replacingAddress old: IPv6Address, with new: IPv6Address) {
        let current = checksum
        guard current != 0 else { return }
        let sum = InternetChecksum.updated(current, replacing: old, with: new)
        checksum = sum == 0 ? 0xFFFF : sum
    }

    @inlinable
    func updateChecksum(replacing old: UInt16, with new: UInt16) {
        let current = checksum
        guard current != 0 else { return }
        let sum = InternetChecksum.updated(current, replacing: old, with: new)
        checksum = sum == 0 ? 0xFFFF : sum
    }
}

/// A UDP header as a plain value.
public struct UDPHeader: Hashable, Sendable, CustomStringConvertible {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// Bytes of data after the header; ``emit(into:checksum:)`` writes header + data as the length.
    public var payloadLength: Int

    @inlinable  // built per packet by the encapsulator
    public init(sourcePort: UInt16, destinationPort: UInt16, payloadLength: Int) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.payloadLength = payloadLength
    }

    /// Reads the header from a checked view. The checksum is verified when `pseudoHeader` is given and
    /// the field is not zero.
    @inlinable
    public init(_ datagram: UDPDatagram, verifyingWith pseudoHeader: PseudoHeader? = nil) throws(DecodeError) {
        if let pseudoHeader, datagram.checksum != 0, !datagram.checksumIsValid(pseudoHeader) {
            throw .badChecksum(.udp, offset: datagram.frameOffset + UDPDatagram.Field.checksum.lowerBound,
                               expected: datagram.expectedChecksum(pseudoHeader), found: datagram.checksum)
        }
        self.init(sourcePort: datagram.sourcePort, destinationPort: datagram.destinationPort,
                  payloadLength: datagram.length - UDPDatagram.headerLength)
    }

    @inlinable public var length: Int { UDPDatagram.headerLength + payloadLength }

    /// Writes the header at the start of `bytes`, whose next ``payloadLength`` bytes must already hold the
    /// data (serialisation goes innermost first). With a pseudo-header the checksum is computed, and a
    /// computed 0 is sent as 0xFFFF (RFC 768); without one the field is 0, "no checksum".
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer, checksum pseudoHeader: PseudoHeader?) {
        precondition(bytes.count >= length, "buffer too small for the UDP datagram")
        typealias Field = UDPDatagram.Field
        bytes.setInteger(sourcePort, at: Field.sourcePort.lowerBound, as: UInt16.self)
        bytes.setInteger(destinationPort, at: Field.destinationPort.lowerBound, as: UInt16.self)
        bytes.setInteger(UInt16(truncatingIfNeeded: length), at: Field.length.lowerBound, as: UInt16.self)
        bytes.setInteger(0, at: Field.checksum.lowerBound, as: UInt16.self)
        if let pseudoHeader {
            let sum = pseudoHeader.checksum(of: UnsafeRawBufferPointer(bytes.slice(0..<length)), protocol: .udp)
            bytes.setInteger(sum == 0 ? 0xFFFF : sum, at: Field.checksum.lowerBound, as: UInt16.self)
        }
    }

    public var description: String { "UDP \(sourcePort) > \(destinationPort) len \(length)" }
}

/// A lenient view of a UDP datagram that may stop early (quoted in an ICMP error, cut by a snap length):
/// each field is read when its bytes are there, ``shortfall`` says what is missing.
///
/// RFC 792 quotes 8 bytes of the data, exactly the UDP header: ports, length and checksum are there,
/// but whether the length fits and whether the checksum holds cannot be told (nil, not false).
public struct PartialUDPDatagram: CustomStringConvertible {
    public typealias Field = UDPDatagram.Field

    public let bytes: UnsafeRawBufferPointer
    public let frameOffset: Int

    /// - Throws: `badLength` when the length field is there and below 8, which no cut explains.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, frameOffset: Int = 0) throws(DecodeError) {
        self.bytes = bytes
        self.frameOffset = frameOffset
        if let length = read(Field.length.lowerBound, as: UInt16.self), length < UDPDatagram.headerLength {
            throw .badLength(.udp, offset: frameOffset + Field.length.lowerBound, expected: "length of at least 8",
                             found: Int(length))
        }
    }

    @inlinable
    func read<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T? {
        offset + MemoryLayout<T>.size <= bytes.count ? bytes.getInteger(at: offset, as: T.self) : nil
    }

    @inlinable public var sourcePort: UInt16? { read(Field.sourcePort.lowerBound, as: UInt16.self) }
    @inlinable public var destinationPort: UInt16? { read(Field.destinationPort.lowerBound, as: UInt16.self) }
    /// Header and data as the length field announces them.
    @inlinable public var length: Int? { read(Field.length.lowerBound, as: UInt16.self).map(Int.init) }
    @inlinable public var checksum: UInt16? { read(Field.checksum.lowerBound, as: UInt16.self) }

    @inlinable public var hasCompleteHeader: Bool { bytes.count >= UDPDatagram.headerLength }
    /// Whether all the data the length field announces is there.
    @inlinable public var isComplete: Bool { length.map { bytes.count >= $0 } ?? false }

    /// The data that is there, up to the length field.
    @inlinable public var payload: UnsafeRawBufferPointer {
        guard hasCompleteHeader, let length else { return bytes.slice(0..<0) }
        return bytes.slice(UDPDatagram.headerLength..<min(length, bytes.count))
    }
    @inlinable public var payloadOffset: Int { frameOffset + UDPDatagram.headerLength }

    /// The 8-byte header cut, or data the length field announces that is not there; nil when whole.
    @inlinable public var shortfall: Shortfall? {
        if !hasCompleteHeader {
            return Shortfall(layer: .udp, part: .header, offset: frameOffset, needed: UDPDatagram.headerLength,
                             available: bytes.count)
        }
        if let length, bytes.count < length {
            return Shortfall(layer: .udp, part: .payload, offset: frameOffset + Field.length.lowerBound, needed: length,
                             available: bytes.count)
        }
        return nil
    }

    /// The strict view, when the whole datagram is there.
    @inlinable public var complete: UDPDatagram? { try? UDPDatagram(checking: bytes, frameOffset: frameOffset) }

    /// The checksum's verdict under `pseudoHeader`; nil when the datagram is not all there.
    @inlinable
    public func checksumIsValid(_ pseudoHeader: PseudoHeader) -> Bool? { complete?.checksumIsValid(pseudoHeader) }

    /// A VXLAN header in the data, when its 8 bytes are there (whether the port means VXLAN is the
    /// caller's to decide); nil when they are not.
    @inlinable public var vxlan: VXLANPacket? { try? VXLANPacket(checking: payload, frameOffset: payloadOffset) }

    /// `UDP 50000 > 4789 len 1430 (udp payload cut short: 8 of 1430 bytes present (byte 66))`.
    public var description: String {
        var text = "UDP"
        if let sourcePort, let destinationPort { text += " \(sourcePort) > \(destinationPort)" }
        if let length { text += " len \(length)" }
        if let shortfall { text += " (\(shortfall))" }
        return text
    }
}
