/// A frame read from a capture file, seen in place in libpcap's buffer.
///
/// ``bytes`` is valid only inside the closure given to ``PcapReader/forEach(_:)``: the next
/// read reuses the memory. Copy what must outlive it, or make a ``Frame``.
public struct FrameView {
    /// The frame's 1-based position in the file, as Wireshark numbers it.
    public let number: Int
    /// When the frame was captured, in nanoseconds since the Unix epoch.
    public let timestampNanoseconds: UInt64
    /// How long the frame was on the wire; more than ``capturedLength`` when it was cut at the
    /// snapshot length.
    public let originalLength: Int
    /// The captured bytes, starting with the link-layer header. Borrowed; see the type's note.
    public let bytes: UnsafeRawBufferPointer

    /// How many bytes were captured: `bytes.count`.
    public var capturedLength: Int { bytes.count }

    /// A view over bytes the caller keeps alive while the view is used.
    public init(number: Int, timestampNanoseconds: UInt64, originalLength: Int, bytes: UnsafeRawBufferPointer) {
        self.number = number
        self.timestampNanoseconds = timestampNanoseconds
        self.originalLength = originalLength
        self.bytes = bytes
    }
}
