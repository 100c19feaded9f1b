import Capture
import PacketWire

/// The loop `encap` and `decap` share: read a capture frame by frame, let a step turn each frame into
/// the frame to write (in one reused ``PacketBuffer``), and write those with their timestamps.
///
/// The output appears under its final name only when every frame was read and written: on any error
/// the writer is abandoned, so nothing is left behind (``PcapWriter`` writes to a temporary file).
struct CaptureConversion {
    /// What the step decided for one frame.
    enum Step {
        /// Write the buffer's packet.
        case write
        /// The frame is kept for later (an outer fragment waiting for the rest of its datagram).
        case hold
        /// The frame is dropped, with a reason code and a sentence.
        case refuse(code: String, reason: String)
    }

    /// Frames refused for one reason.
    struct Refusal {
        var code: String
        /// The first frame's sentence.
        var reason: String
        var count: Int
        /// The first few frame numbers.
        var frames: [Int]
    }

    /// What a conversion did.
    struct Report {
        var framesRead = 0
        var framesWritten = 0
        var framesHeld = 0
        /// By reason, in the order first seen.
        var refusals: [Refusal] = []

        /// How many frame numbers each reason lists.
        static let framesListed = 5

        var framesRefused: Int { refusals.reduce(0) { $0 + $1.count } }

        mutating func refuse(code: String, reason: String, frame: Int) {
            if let index = refusals.firstIndex(where: { $0.code == code }) {
                refusals[index].count += 1
                if refusals[index].frames.count < Self.framesListed { refusals[index].frames.append(frame) }
            } else {
                refusals.append(Refusal(code: code, reason: reason, count: 1, frames: [frame]))
            }
        }

        /// One line a reason, indented: `  3 notUDP (frames 1, 2, 5): outer protocol ...`.
        var refusalLines: [String] {
            refusals.map { refusal in
                let more = refusal.count > refusal.frames.count ? ", …" : ""
                let frames = refusal.frames.map(String.init).joined(separator: ", ") + more
                return "  \(refusal.count) \(refusal.code) (frame\(refusal.count == 1 ? "" : "s") \(frames)): \(refusal.reason)"
            }
        }
    }

    /// Opens the output file; tests put a writer on a failing device behind it.
    typealias WriterFactory = (String) throws -> PcapWriter

    /// A ``PcapWriter`` on `path` with the default snapshot length.
    static func openWriter(_ path: String) throws -> PcapWriter { try PcapWriter(path: path) }

    /// Headroom for the outer headers (Linux `VXLAN_HEADROOM`, with room for an IPv6 underlay).
    static let headroom = PacketBuffer.defaultHeadroom
    /// The largest frame a capture holds (libpcap's maximum snapshot length for Ethernet).
    static let largestFrame = 262_144

    /// Converts `input` into `output`.
    ///
    /// - Parameters:
    ///   - openWriter: opens the output (a ``PcapWriter`` on `output` unless a test says otherwise).
    ///   - step: called once a frame; loads what it wants written into the buffer.
    /// - Throws: the ``CaptureError`` that stopped reading or writing; `output` is then not created.
    static func run(input: String, output: String, openWriter: WriterFactory = CaptureConversion.openWriter,
                    step: (FrameView, PacketBuffer) -> Step) throws -> Report {
        let reader = try PcapReader(path: input, recordsOverSnapLength: .refuse)
        let writer = try openWriter(output)
        let buffer = PacketBuffer(capacity: headroom + largestFrame, headroom: headroom)
        var report = Report()
        do {
            try reader.forEach { frame in
                report.framesRead += 1
                switch step(frame, buffer) {
                case .write:
                    try writer.write(buffer.readableBytes, timestampNanoseconds: frame.timestampNanoseconds)
                    report.framesWritten += 1
                case .hold:
                    report.framesHeld += 1
                case .refuse(let code, let reason):
                    report.refuse(code: code, reason: reason, frame: frame.number)
                }
            }
            try writer.close()
        } catch {
            writer.abandon()
            throw error
        }
        return report
    }
}
