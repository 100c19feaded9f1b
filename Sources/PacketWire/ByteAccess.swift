// Big-endian field access at fixed offsets, the only way the wire views touch bytes.
//
// The vocabulary is SwiftNIO's `ByteBuffer`: `getInteger(at:as:)` reads at an offset and `setInteger(_:at:as:)`
// writes at one; neither moves anything (nothing here consumes: there is no `read*`). Every accessor is
// unaligned-safe and network byte order; callers check lengths first (see `PacketWire.swift`). Public so the
// layers above, where they must touch bytes at all, do it the same way.

extension UnsafeRawBufferPointer {
    /// The big-endian integer of `T`'s width at `offset`.
    @inlinable @inline(__always)
    public func getInteger<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The bytes `range` of this buffer, without copying.
    @inlinable @inline(__always)
    public func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[range])
    }

    /// The bytes from `offset` to the end, without copying.
    @inlinable @inline(__always)
    public func dropFirst(count offset: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[offset...])
    }
}

extension UnsafeMutableRawBufferPointer {
    /// The big-endian integer of `T`'s width at `offset`.
    @inlinable @inline(__always)
    public func getInteger<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Writes `value` big-endian at `offset`.
    @inlinable @inline(__always)
    public func setInteger<T: FixedWidthInteger>(_ value: T, at offset: Int, as type: T.Type = T.self) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }

    /// The bytes `range` of this buffer, writable, without copying.
    @inlinable @inline(__always)
    public func slice(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: self[range])
    }

    /// The bytes from `offset` to the end, writable, without copying.
    @inlinable @inline(__always)
    public func dropFirst(count offset: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: self[offset...])
    }
}

extension Array where Element == UInt8 {
    /// Runs `body` over a zero-copy view of the array's bytes, keeping `body`'s typed error: the
    /// convenience that tests and cold paths use to parse a frame held in an array.
    @inlinable
    public func withWireBytes<R>(
        _ body: (UnsafeRawBufferPointer) throws(DecodeError) -> R
    ) throws(DecodeError) -> R {
        let result: Result<R, DecodeError> = withUnsafeBytes { bytes in
            Result { () throws(DecodeError) in try body(bytes) }
        }
        return try result.get()
    }
}
