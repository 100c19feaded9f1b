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
        let length = Int(bytes.getInteger(at: 4, as: UInt16.self))
        guard length >= Self.headerLength else {
            throw .badLength(.udp, offset: frameOffset + 4, expected: "length of at least 8", found: length)
        }
        guard length <= bytes.count else {
            throw .truncated(.udp, offset: frameOffset + 4, needed: length, available: bytes.count)
        }
        self.bytes = bytes
        self.frameOffset = frameOffset
    }

    @inlinable public var sourcePort: UInt16 { bytes.getInteger(at: 0, as: UInt16.self) }
    @inlinable public var destinationPort: UInt16 { bytes.getInteger(at: 2, as: UInt16.self) }
    @inlinable public var length: Int { Int(bytes.getInteger(at: 4, as: UInt16.self)) }
    @inlinable public var checksum: UInt16 { bytes.getInteger(at: 6, as: UInt16.self) }
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
        state.add(datagram.slice(0..<6))
        state.add(datagram.slice(8..<length))
        let sum = state.checksum
        return sum == 0 ? 0xFFFF : sum
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
            throw .badChecksum(.udp, offset: datagram.frameOffset + 6,
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
        bytes.setInteger(sourcePort, at: 0, as: UInt16.self)
        bytes.setInteger(destinationPort, at: 2, as: UInt16.self)
        bytes.setInteger(UInt16(truncatingIfNeeded: length), at: 4, as: UInt16.self)
        bytes.setInteger(0, at: 6, as: UInt16.self)
        if let pseudoHeader {
            let sum = pseudoHeader.checksum(of: UnsafeRawBufferPointer(bytes.slice(0..<length)), protocol: .udp)
            bytes.setInteger(sum == 0 ? 0xFFFF : sum, at: 6, as: UInt16.self)
        }
    }

    public var description: String { "UDP \(sourcePort) > \(destinationPort) len \(length)" }
}
