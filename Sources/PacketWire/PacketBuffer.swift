/// A packet in a fixed block of memory with room in front of it, so tunnel headers are prepended in
/// place (Linux `skb_push`, DPDK `rte_pktmbuf_prepend`) and removed by moving the start.
///
/// The buffer never grows: prepending past the headroom or appending past the tailroom is refused and
/// leaves the buffer unchanged. A class, because a packet buffer has identity: it is reused, not copied.
public final class PacketBuffer {
    /// DPDK's `RTE_PKTMBUF_HEADROOM`: room for an IPv6 VXLAN header (70 bytes) with an outer VLAN tag
    /// and more to spare.
    public static let defaultHeadroom = 128
    /// Headroom plus a jumbo-sized frame.
    public static let defaultCapacity = 128 + 9216

    @usableFromInline let storage: UnsafeMutableRawPointer
    public let capacity: Int
    // Performance: `@exclusivity(unchecked)` turns off only the *dynamic* exclusivity check on these two
    // integers (static checking stays). A class's stored `var` is otherwise guarded by a runtime
    // `swift_beginAccess`/`swift_endAccess` pair on every access from inlined code, which callgrind showed
    // costing more instructions than the whole of encapsulation (a thread-local access-set insert per
    // read). No method here holds an access to `start` or `end` across a call, so there is no overlapping
    // access for the check to catch. swift-collections marks its `Shared` box the same way.
    /// Offset of the first byte of the packet in the storage; equals the headroom left.
    @exclusivity(unchecked) @usableFromInline var start: Int
    /// Offset one past the last byte of the packet.
    @exclusivity(unchecked) @usableFromInline var end: Int

    public init(capacity: Int = PacketBuffer.defaultCapacity, headroom: Int = PacketBuffer.defaultHeadroom) {
        precondition(capacity > 0 && headroom >= 0 && headroom <= capacity, "headroom must fit the capacity")
        self.capacity = capacity
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        self.storage.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        self.start = headroom
        self.end = headroom
    }

    /// A buffer holding a copy of `bytes` after `headroom` bytes of headroom (a setup path, not a
    /// per-packet one).
    public convenience init(copying bytes: some Collection<UInt8>, headroom: Int = PacketBuffer.defaultHeadroom) {
        self.init(capacity: max(PacketBuffer.defaultCapacity, headroom + bytes.count), headroom: headroom)
        let destination = UnsafeMutableRawBufferPointer(start: storage + headroom, count: bytes.count)
        destination.copyBytes(from: bytes)
        end = headroom + bytes.count
    }

    deinit { storage.deallocate() }

    /// Bytes available in front of the packet.
    @inlinable public var headroom: Int { start }
    /// Bytes available after the packet.
    @inlinable public var tailroom: Int { capacity - end }
    /// Length of the packet.
    @inlinable public var count: Int { end - start }
    @inlinable public var isEmpty: Bool { start == end }

    /// The packet's bytes, valid until the buffer changes.
    @inlinable
    public var readableBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + start, count: end - start)
    }

    /// The packet's bytes, writable, valid until the buffer changes.
    @inlinable
    public var mutableBytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: storage + start, count: end - start)
    }

    /// Grows the packet at the front by `count` bytes taken from the headroom and returns the whole packet,
    /// new bytes first; nil, with the buffer unchanged, when the headroom is too small.
    @inlinable
    public func prepend(_ count: Int) -> UnsafeMutableRawBufferPointer? {
        guard count >= 0, count <= start else { return nil }
        start -= count
        return mutableBytes
    }

    /// Removes `count` bytes from the front (decapsulation): returns false, with the buffer unchanged,
    /// when the packet is shorter.
    @inlinable
    @discardableResult
    public func removeFront(_ count: Int) -> Bool {
        guard count >= 0, count <= end - start else { return false }
        start += count
        return true
    }

    /// Grows the packet at the back by `count` bytes and returns just those bytes; nil, with the buffer
    /// unchanged, when the tailroom is too small.
    @inlinable
    public func append(_ count: Int) -> UnsafeMutableRawBufferPointer? {
        guard count >= 0, count <= capacity - end else { return nil }
        end += count
        return UnsafeMutableRawBufferPointer(start: storage + end - count, count: count)
    }

    /// Shortens the packet to `count` bytes from the front; false when it is already shorter.
    @inlinable
    @discardableResult
    public func truncate(to count: Int) -> Bool {
        guard count >= 0, count <= end - start else { return false }
        end = start + count
        return true
    }

    /// Empties the packet and sets the headroom for the next one.
    @inlinable
    public func reset(headroom: Int = PacketBuffer.defaultHeadroom) {
        precondition(headroom >= 0 && headroom <= capacity, "headroom must fit the capacity")
        start = headroom
        end = headroom
    }

    /// Replaces the packet with a copy of `bytes` after `headroom` bytes; false when it does not fit.
    @inlinable
    @discardableResult
    public func load(_ bytes: UnsafeRawBufferPointer, headroom: Int = PacketBuffer.defaultHeadroom) -> Bool {
        guard headroom >= 0, headroom + bytes.count <= capacity else { return false }
        start = headroom
        end = headroom + bytes.count
        if let source = bytes.baseAddress, !bytes.isEmpty {
            (storage + start).copyMemory(from: source, byteCount: bytes.count)
        }
        return true
    }

    /// A copy of the packet's bytes, for tests and cold paths.
    public var bytes: [UInt8] { Array(readableBytes) }
}
