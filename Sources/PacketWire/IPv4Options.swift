// IPv4 options (RFC 791 §3.1).
//
//   single-octet options:  | type |                     (0 End of Option List, 1 No Operation)
//   the others:            | type | length | data ... |  (length counts the type and length bytes)
//
//   type:  0 1 2 3 4 5 6 7
//         +-+-+-+-+-+-+-+-+
//         |C| cls |  num  |    C: copied into every fragment; cls: 0 control, 2 debugging
//         +-+-+-+-+-+-+-+-+
//
// The header carries at most 40 option bytes (IHL 15), padded to a 32-bit boundary.

/// One option of an IPv4 header, read where it lies.
public struct IPv4Option {
    /// End of Option List (type 0): the options end; the rest of the header is padding.
    public static let endOfOptionList: UInt8 = 0
    /// No Operation (type 1): one byte, used to align the next option.
    public static let noOperation: UInt8 = 1

    /// The type byte: copied flag, class and number.
    public let type: UInt8
    /// Where the option starts in the option bytes it was read from.
    public let offset: Int
    /// The whole option: the type byte and, for all but No Operation, the length byte and the data.
    public let bytes: UnsafeRawBufferPointer

    @inlinable
    init(type: UInt8, offset: Int, bytes: UnsafeRawBufferPointer) {
        self.type = type
        self.offset = offset
        self.bytes = bytes
    }

    /// RFC 791: the option is copied into every fragment (Linux `IPOPT_COPIED`).
    @inlinable public var isCopied: Bool { type & 0x80 != 0 }
    /// The option class: 0 control, 2 debugging and measurement.
    @inlinable public var optionClass: UInt8 { type >> 5 & 0x3 }
    /// The option number within its class.
    @inlinable public var number: UInt8 { type & 0x1F }
    /// The option's data after its type and length bytes (empty for No Operation).
    @inlinable public var data: UnsafeRawBufferPointer { bytes.count > 2 ? bytes.dropFirst(count: 2) : bytes.slice(0..<0) }
}

/// The options of an IPv4 header one by one, without copying: a walk over the option bytes.
///
/// The walk yields No Operation bytes as options of their own and stops at End of Option List (which it
/// does not yield) or at a length byte that cannot be right (below 2, or past the end), setting
/// ``isMalformed``: what is left is not read, as Linux's `ip_options_fragment` leaves it.
public struct IPv4OptionSequence: Sequence, IteratorProtocol {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset = 0
    /// Set when the walk stopped at an impossible length byte.
    public private(set) var isMalformed = false

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    // Not inlinable: options are a cold path (the hot path's headers have none).
    public mutating func next() -> IPv4Option? {
        guard offset < bytes.count, !isMalformed else { return nil }
        let type = bytes.getInteger(at: offset, as: UInt8.self)
        if type == IPv4Option.endOfOptionList {
            offset = bytes.count
            return nil
        }
        var length = 1
        if type != IPv4Option.noOperation {
            guard offset + 1 < bytes.count else {
                isMalformed = true
                return nil
            }
            length = Int(bytes.getInteger(at: offset + 1, as: UInt8.self))
            guard length >= 2, length <= bytes.count - offset else {
                isMalformed = true
                return nil
            }
        }
        let option = IPv4Option(type: type, offset: offset, bytes: bytes.slice(offset..<(offset + length)))
        offset += length
        return option
    }
}

/// The option bytes of an IPv4 header as a plain value, stored inline (at most 40 bytes, no heap), so an
/// ``IPv4Header`` with options is as cheap to make as one without.
public struct IPv4Options: Hashable, Sendable, RandomAccessCollection, ExpressibleByArrayLiteral,
                           CustomStringConvertible {
    /// RFC 791: IHL 15 leaves 40 bytes after the fixed header.
    public static let maximumCount = 40

    /// Five words of storage; bytes past ``count`` are always zero, so equality can compare them all.
    @usableFromInline var storage: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    @usableFromInline var length: UInt8 = 0

    /// No options.
    @inlinable
    public init() {}

    /// A copy of `bytes`.
    /// - Precondition: at most 40 bytes (a programming error otherwise; headers read from the wire never
    ///   hold more).
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= Self.maximumCount, "IPv4 options are at most 40 bytes")
        length = UInt8(bytes.count)
        withUnsafeMutableBytes(of: &storage) { $0.slice(0..<bytes.count).copyMemory(from: bytes) }
    }

    /// A copy of `bytes`; the precondition of ``init(_:)-(UnsafeRawBufferPointer)`` applies.
    @inlinable
    public init(_ bytes: some Collection<UInt8>) {
        precondition(bytes.count <= Self.maximumCount, "IPv4 options are at most 40 bytes")
        length = UInt8(bytes.count)
        withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: bytes) }
    }

    @inlinable
    public init(arrayLiteral elements: UInt8...) { self.init(elements) }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { Int(length) }

    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < Int(length), "index out of range")
        return Swift.withUnsafeBytes(of: storage) { $0[position] }
    }

    /// Runs `body` over the option bytes, without copying.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let count = Int(length)
        return try Swift.withUnsafeBytes(of: storage) { try body($0.slice(0..<count)) }
    }

    @inlinable
    public static func == (lhs: IPv4Options, rhs: IPv4Options) -> Bool {
        lhs.length == rhs.length && lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
            && lhs.storage.2 == rhs.storage.2 && lhs.storage.3 == rhs.storage.3 && lhs.storage.4 == rhs.storage.4
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(length)
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// The bytes in hex: `94 04 00 00`.
    public var description: String {
        map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
    }
}
