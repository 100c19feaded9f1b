import PacketWire

/// Packet buffers for the whole run, reused: a buffer goes back to the pool when its packet is delivered,
/// dropped or consumed, so a run of a million packets holds as many buffers as were ever in flight at once.
/// Each has 128 bytes of headroom in front (room for outer headers, as Linux's `skb_push`), a jumbo frame,
/// and 128 bytes behind.
final class BufferPool {
    private var free: [PacketBuffer] = []
    /// Buffers ever allocated: must stay flat as a scenario sends more packets.
    private(set) var allocated = 0
    /// Buffers handed out: every frame the run made (a fragment, a copy, a reassembled datagram each count).
    private(set) var taken = 0
    /// Freed buffers kept for reuse, at most.
    static let limit = 4096
    static let capacity = 128 + 9216 + 128

    func take() -> PacketBuffer {
        taken += 1
        if let buffer = free.popLast() {
            buffer.reset()
            return buffer
        }
        allocated += 1
        return PacketBuffer(capacity: Self.capacity)
    }

    func release(_ buffer: PacketBuffer) {
        if free.count < Self.limit { free.append(buffer) }
    }
}
