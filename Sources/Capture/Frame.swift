/// A frame read from a capture file, owning a copy of its bytes.
public struct Frame: Hashable, Sendable {
    /// The frame's 1-based position in the file, as Wireshark numbers it.
    public var number: Int
    /// When the frame was captured, in nanoseconds since the Unix epoch.
    public var timestampNanoseconds: UInt64
    /// How long the frame was on the wire; more than ``capturedLength`` when it was cut at the
    /// snapshot length.
    public var originalLength: Int
    /// The captured bytes, starting with the link-layer header.
    public var bytes: [UInt8]

    /// How many bytes were captured: `bytes.count`.
    public var capturedLength: Int { bytes.count }

    /// Makes a frame from its parts.
    public init(number: Int, timestampNanoseconds: UInt64, originalLength: Int, bytes: [UInt8]) {
        self.number = number
        self.timestampNanoseconds = timestampNanoseconds
        self.originalLength = originalLength
        self.bytes = bytes
    }

    /// Copies a borrowed frame so it can outlive the read that produced it.
    public init(_ view: FrameView) {
        self.init(number: view.number, timestampNanoseconds: view.timestampNanoseconds,
                  originalLength: view.originalLength, bytes: Array(view.bytes))
    }
}
