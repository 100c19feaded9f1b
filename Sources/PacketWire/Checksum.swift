/// The Internet checksum (RFC 1071): the 16-bit one's-complement of the one's-complement sum of
/// 16-bit words, accumulated eight bytes at a time.
///
/// RFC 1071 §2(B): the sum is byte-order independent, so words are added in the machine's little-endian
/// order and the folded result is swapped once at the end instead of swapping every word.
public struct InternetChecksum: Sendable {
    /// Running sum of little-endian 16-bit words, folded lazily; 32 bits of carry headroom are
    /// enough for any packet below 2^32 × 8 bytes.
    @usableFromInline
    var accumulator: UInt64 = 0

    @inlinable
    public init() {}

    /// Adds `bytes`. An odd trailing byte is padded with zero, as RFC 1071 §4.1 does; call this with an
    /// odd-length buffer only for the last piece of a checksummed area.
    @inlinable
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var sum = accumulator
        var offset = 0
        let count = bytes.count
        while offset + 8 <= count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            sum &+= (word & 0xFFFF_FFFF) &+ (word >> 32)
            offset += 8
        }
        if offset + 4 <= count {
            sum &+= UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
        }
        if offset + 2 <= count {
            sum &+= UInt64(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            offset += 2
        }
        if offset < count {
            sum &+= UInt64(bytes.load(fromByteOffset: offset, as: UInt8.self))
        }
        accumulator = sum
    }

    /// Adds one 16-bit word given in host order, as it reads on the wire big-endian.
    @inlinable
    public mutating func add(word: UInt16) {
        accumulator &+= UInt64(word.byteSwapped)
    }

    /// Adds a 32-bit value as two 16-bit words (an IPv4 address, a length).
    @inlinable
    public mutating func add(doubleWord: UInt32) {
        add(word: UInt16(truncatingIfNeeded: doubleWord >> 16))
        add(word: UInt16(truncatingIfNeeded: doubleWord))
    }

    /// The one's-complement sum folded to 16 bits, in host order (not complemented).
    @inlinable
    public var sum: UInt16 {
        var folded = accumulator
        folded = (folded & 0xFFFF_FFFF) &+ (folded >> 32)
        folded = (folded & 0xFFFF_FFFF) &+ (folded >> 32)
        folded = (folded & 0xFFFF) &+ (folded >> 16)
        folded = (folded & 0xFFFF) &+ (folded >> 16)
        return UInt16(truncatingIfNeeded: folded).byteSwapped
    }

    /// The checksum field value: the complement of the sum.
    @inlinable
    public var checksum: UInt16 { ~sum }

    /// The checksum of `bytes` alone.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var state = InternetChecksum()
        state.add(bytes)
        return state.checksum
    }

    /// RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data changes from `old` to
    /// `new`, without summing the data again: HC' = ~(~HC + ~m + m').
    @inlinable
    public static func updated(_ checksum: UInt16, replacing old: UInt16, with new: UInt16) -> UInt16 {
        var sum = UInt32(~checksum) &+ UInt32(~old) &+ UInt32(new)
        sum = (sum & 0xFFFF) &+ (sum >> 16)
        sum = (sum & 0xFFFF) &+ (sum >> 16)
        return ~UInt16(truncatingIfNeeded: sum)
    }
}
