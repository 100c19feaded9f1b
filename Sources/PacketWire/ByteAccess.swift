// Big-endian field access at fixed offsets, the only way the wire views touch bytes.
// Every accessor is unaligned-safe; callers check lengths first (see `PacketWire.swift`). Public so the
// layers above read their own fields the same way.

extension UnsafeRawBufferPointer {
    @inlinable @inline(__always)
    public func readUInt8(at offset: Int) -> UInt8 {
        load(fromByteOffset: offset, as: UInt8.self)
    }

    @inlinable @inline(__always)
    public func readUInt16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    public func readUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
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
    @inlinable @inline(__always)
    public func writeUInt8(_ value: UInt8, at offset: Int) {
        storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
    }

    @inlinable @inline(__always)
    public func writeUInt16(_ value: UInt16, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inlinable @inline(__always)
    public func writeUInt32(_ value: UInt32, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inlinable @inline(__always)
    public func readUInt16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    public func slice(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: self[range])
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
