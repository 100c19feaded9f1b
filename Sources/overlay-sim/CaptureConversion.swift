import Capture
import PacketWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        /// The input's link-layer type; frames of a cooked or raw-IP capture were given an Ethernet header.
        var linkType = LinkType.ethernet
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
                    label: String = "convert", step: (FrameView, PacketBuffer) -> Step) throws -> Report {
        try refuseSameFile(input: input, output: output)
        let reader = try PcapReader(path: input, recordsOverSnapLength: .refuse)
        let writer = try openWriter(output)
        let buffer = PacketBuffer(capacity: headroom + largestFrame, headroom: headroom)
        var report = Report()
        report.linkType = reader.linkType
        var progress = ProgressLine(label: label, totalBytes: reader.fileSize)
        defer { progress.finish() }
        var scratch: [UInt8] = []
        scratch.reserveCapacity(largestFrame + 14)
        do {
            try reader.forEach { original in
                report.framesRead += 1
                progress.update(frames: report.framesRead, bytesRead: reader.bytePosition)
                let decision: Step
                if reader.linkType == .ethernet {
                    decision = step(original, buffer)
                } else if let refusal = Self.ethernetFrame(original, linkType: reader.linkType, into: &scratch) {
                    decision = refusal
                } else {
                    decision = scratch.withUnsafeBytes { bytes in
                        step(FrameView(number: original.number, timestampNanoseconds: original.timestampNanoseconds,
                                       originalLength: original.originalLength - original.capturedLength + bytes.count,
                                       bytes: bytes), buffer)
                    }
                }
                switch decision {
                case .write:
                    try writer.write(buffer.readableBytes, timestampNanoseconds: original.timestampNanoseconds)
                    report.framesWritten += 1
                case .hold:
                    report.framesHeld += 1
                case .refuse(let code, let reason):
                    report.refuse(code: code, reason: reason, frame: original.number)
                }
            }
            try writer.close()
        } catch {
            writer.abandon()
            throw error
        }
        return report
    }

    /// The input and output are one file (the same path, a link, another name for it): writing would
    /// replace the capture being read.
    struct SameFileError: Error, CustomStringConvertible {
        var description: String
    }

    /// Refuses an output that is the input, compared by device and inode, so `./x.pcap`, `x.pcap` and a
    /// hard or symbolic link to it are all caught.
    static func refuseSameFile(input: String, output: String) throws(SameFileError) {
        var inputStatus = stat()
        var outputStatus = stat()
        guard stat(input, &inputStatus) == 0, stat(output, &outputStatus) == 0 else { return }
        if inputStatus.st_dev == outputStatus.st_dev && inputStatus.st_ino == outputStatus.st_ino {
            throw SameFileError(description: "\(output) is the input file \(input); give another output path")
        }
    }

    /// Loads a cooked (`tcpdump -i any`) or raw-IP frame into `scratch` behind an Ethernet header, so the
    /// tunnel code, which speaks Ethernet, can take it: the source MAC is the cooked header's address (or
    /// zero), the destination MAC, which a cooked capture does not keep, is 00:00:00:00:00:00, and the
    /// EtherType is the cooked protocol. Returns a refusal when the frame cannot be given one.
    static func ethernetFrame(_ frame: FrameView, linkType: LinkType, into scratch: inout [UInt8]) -> Step? {
        scratch.removeAll(keepingCapacity: true)
        let payload: UnsafeRawBufferPointer
        var source: [UInt8] = [0, 0, 0, 0, 0, 0]
        let etherType: UInt16
        switch linkType {
        case .linuxSLL, .linuxSLL2:
            guard let cooked = try? LinuxCookedPacket(checking: frame.bytes, version: linkType == .linuxSLL ? .v1 : .v2) else {
                return .refuse(code: "runt", reason: "\(frame.capturedLength) bytes are less than a Linux cooked capture header")
            }
            guard cooked.protocol.rawValue >= 0x0600 else {
                return .refuse(code: "notEthernetII", reason: "cooked protocol \(cooked.protocol.rawValue) is a Linux "
                               + "pseudo-type (802.2 LLC, Novell 802.3, ...), not an EtherType")
            }
            if let mac = cooked.sourceMAC {
                source = (0..<6).map { UInt8(truncatingIfNeeded: mac.rawValue >> (40 - 8 * UInt64($0))) }
            }
            etherType = cooked.protocol.rawValue
            payload = cooked.payload
        default:
            guard let first = frame.bytes.first else { return .refuse(code: "runt", reason: "an empty raw IP frame") }
            etherType = first >> 4 == 6 ? 0x86DD : 0x0800
            payload = frame.bytes
        }
        scratch.append(contentsOf: [0, 0, 0, 0, 0, 0])
        scratch.append(contentsOf: source)
        scratch.append(UInt8(etherType >> 8))
        scratch.append(UInt8(etherType & 0xFF))
        scratch.append(contentsOf: payload)
        return nil
    }

    /// The line that says cooked or raw frames were given Ethernet headers; nil for an Ethernet input.
    static func linkNote(_ report: Report, command: String) -> String? {
        guard report.linkType != .ethernet else { return nil }
        return "\(command): the input is \(report.linkType.name ?? "\(report.linkType)"): each frame was given an Ethernet "
            + "header, source MAC from the cooked header, destination 00:00:00:00:00:00 (a cooked capture does not keep it)"
    }
}

/// The progress line `decode`, `encap` and `decap` draw on standard error for inputs that take more
/// than a second: bytes read of the file's size, frames, and the time left at the rate so far. Drawn
/// only when standard error is a terminal (a log file would fill with carriage returns), at most five
/// times a second, and cleared when the command ends.
struct ProgressLine {
    let label: String
    let totalBytes: Int64?
    private let started = ProgressLine.now()
    private var lastDrawn = 0.0
    private var drawn = false
    private let enabled: Bool

    init(label: String, totalBytes: Int64?, enabled: Bool = isatty(2) == 1) {
        self.label = label
        self.totalBytes = totalBytes
        self.enabled = enabled
    }

    /// Monotonic seconds (CLOCK_MONOTONIC): never the wall clock, which can jump.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Call per frame; looks at the clock every 4096 frames only.
    mutating func update(frames: Int, bytesRead: Int64?) {
        guard enabled, frames & 0xFFF == 0 else { return }
        let now = Self.now()
        let elapsed = now - started
        guard elapsed > 1, now - lastDrawn > 0.2 else { return }
        lastDrawn = now
        var text = "\r\(label): \(frames) frames"
        if let bytesRead, let totalBytes, totalBytes > 0 {
            let fraction = min(1, Double(bytesRead) / Double(totalBytes))
            text += ", \(Self.megabytes(bytesRead)) of \(Self.megabytes(totalBytes)) MB (\(Int(fraction * 100))%)"
            if fraction > 0 { text += ", \(Int((elapsed / fraction - elapsed).rounded())) s left" }
        }
        Self.write(text + "   ")
        drawn = true
    }

    /// Clears the line if it was drawn.
    func finish() {
        if drawn { Self.write("\r\u{1B}[K") }
    }

    private static func megabytes(_ bytes: Int64) -> String {
        String(Double(bytes / 100_000) / 10)
    }

    private static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
