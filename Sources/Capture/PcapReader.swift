import CPcap

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the Ethernet frames of a pcap or pcapng file, with nanosecond timestamps, through libpcap.
///
/// Two ways to read:
/// - ``next()`` returns an owning ``Frame`` (one array per frame);
/// - ``forEach(_:)`` lends each frame as a ``FrameView`` over libpcap's buffer (no copy).
///
/// ```swift
/// let reader = try PcapReader(path: "Captures/demo/node-a.pcap")
/// while let frame = try reader.next() { print(frame.number, frame.capturedLength) }
/// ```
///
/// The reader is deliberately not a `Sequence`: a sequence's iterator cannot throw, so a
/// damaged file would look like a short one. Once a read has failed, later reads throw the
/// same error again; after the last frame they return `nil`.
///
/// Hostile input is reported, never trusted: files that are empty, of another format, cut
/// short, or that hold impossible records give a ``CaptureError``. One leniency is libpcap's:
/// a pcap record longer than the file's snapshot length, but within the largest length libpcap
/// accepts for Ethernet (262144), is cut to the snapshot length rather than refused. Pass
/// `recordsOverSnapLength: .refuse` to have such a record reported as a `.badRecord` instead
/// (the command-line tools do: the bytes libpcap drops are lost).
public final class PcapReader {
    /// What to do with a pcap record that holds more bytes than the file's snapshot length.
    public enum OversizedRecordPolicy: Sendable, Hashable {
        /// libpcap's way: keep the first snapshot-length bytes, skip the rest, read on.
        case cut
        /// Throw ``CaptureError/Code/badRecord`` naming the frame. Checked for pcap files, whose
        /// records libpcap reads from a stream whose position we can see; pcapng blocks are not checked.
        case refuse
    }

    /// The file being read.
    public let path: String
    /// The link-layer type of the frames: one of the types asked for (by default ``LinkType/decodable``:
    /// Ethernet, Linux cooked v1 and v2, raw IP).
    public let linkType: LinkType
    /// The file's snapshot length: the most bytes a frame in it should hold.
    public let snapLength: Int
    /// How many frames have been read so far.
    public private(set) var framesRead = 0
    /// What happens to a record longer than ``snapLength``.
    public let recordsOverSnapLength: OversizedRecordPolicy

    private let pcap: OpaquePointer
    /// Whether this is a pcap (not pcapng) file, whose seconds field libpcap reads as signed.
    private let isPcap: Bool
    /// Whether reading goes on; once it has ended, later reads repeat how.
    private var state = State.reading
    /// The size of a pcap record header (16, or 24 in Kuznetzov's modified format) when records over
    /// the snapshot length are refused; nil when they are not checked.
    private let checkedRecordHeaderLength: Int?

    /// Opens a capture file and checks that it holds frames of a link type that is read.
    ///
    /// - Parameters:
    ///   - path: A pcap or pcapng file.
    ///   - recordsOverSnapLength: Whether a record longer than the snapshot length is cut (the
    ///     default, as libpcap does) or refused.
    /// - Throws: ``CaptureError`` with code `.notFound`, `.isDirectory`, `.permissionDenied`,
    ///   `.emptyFile`, `.notACaptureFile` (the first bytes are no pcap or pcapng magic number),
    ///   `.truncatedFile` (the file header is cut short), `.unsupportedLinkType` (not one of `linkTypes`),
    ///   or `.openFailed` with libpcap's message for anything else.
    ///   - linkTypes: The link-layer types accepted; a file of another type is refused.
    public init(path: String, recordsOverSnapLength: OversizedRecordPolicy = .cut,
                linkTypes: [LinkType] = LinkType.decodable) throws(CaptureError) {
        self.path = path
        self.recordsOverSnapLength = recordsOverSnapLength
        let format = try Self.checkSource(path)

        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let pcap = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer) else {
            let message = Self.string(fromErrorBuffer: errorBuffer)
            throw CaptureError(message.contains("truncated") ? .truncatedFile : .openFailed, path: path, message)
        }
        let linkType = LinkType(rawValue: pcap_datalink(pcap))
        guard linkTypes.contains(linkType) else {
            pcap_close(pcap)
            throw CaptureError(.unsupportedLinkType, path: path,
                               "link type \(linkType) is not one read here (\(linkTypes.map(\.description).joined(separator: ", ")))")
        }
        self.pcap = pcap
        self.linkType = linkType
        self.snapLength = Int(pcap_snapshot(pcap))
        // libpcap reports version 2.x for pcap files and 1.x for pcapng files.
        self.isPcap = pcap_major_version(pcap) == 2
        if recordsOverSnapLength == .refuse, isPcap, case .pcap(let recordHeaderLength)? = format {
            self.checkedRecordHeaderLength = recordHeaderLength
        } else {
            self.checkedRecordHeaderLength = nil
        }
    }

    deinit {
        pcap_close(pcap)
    }

    /// How far into the file reading has got, in bytes; nil when libpcap does not say (a pipe).
    public var bytePosition: Int64? {
        guard let stream = pcap_file(pcap) else { return nil }
        let position = ftello(stream)
        return position >= 0 ? Int64(position) : nil
    }

    /// The file's size in bytes; nil for a pipe or device.
    public var fileSize: Int64? {
        if case .regularFile(let size) = FileSystem.entry(at: path) { return size }
        return nil
    }

    /// Reads the next frame and returns a copy of it.
    ///
    /// - Returns: The frame, or `nil` after the last one.
    /// - Throws: ``CaptureError`` naming the frame number: `.truncatedFile` when the file ends
    ///   inside a record, `.badRecord` when a record is malformed.
    public func next() throws(CaptureError) -> Frame? {
        try readNext().map(Frame.init)
    }

    /// Reads every remaining frame.
    ///
    /// - Throws: The first ``CaptureError`` that ``next()`` throws.
    public func readAll() throws(CaptureError) -> [Frame] {
        var frames: [Frame] = []
        while let frame = try next() {
            frames.append(frame)
        }
        return frames
    }

    /// Calls `body` with each remaining frame, in place in libpcap's buffer.
    ///
    /// - Parameter body: Called once per frame. The view's bytes are valid only during the call.
    /// - Throws: A ``CaptureError`` when a read fails, or whatever `body` throws (which stops
    ///   the reading).
    public func forEach(_ body: (FrameView) throws -> Void) throws {
        while let view = try readNext() {
            try body(view)
        }
    }

    // MARK: - Reading

    /// Reads one record. The view borrows libpcap's buffer, which the next read reuses.
    private func readNext() throws(CaptureError) -> FrameView? {
        switch state {
        case .reading: break
        case .finished: return nil
        case .failed(let error): throw error
        }
        let number = framesRead + 1
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let stream = checkedRecordHeaderLength == nil ? nil : pcap_file(pcap)
        let recordStart = stream.map { ftello($0) }
        let status = pcap_next_ex(pcap, &header, &data)
        switch status {
        case 1:
            guard let header else {
                throw fail(CaptureError(.badRecord, path: path, frameNumber: number, "libpcap returned a frame without a header"))
            }
            let captured = Int(header.pointee.caplen)
            guard let timestamp = Self.nanoseconds(header.pointee.ts, unsignedSeconds: isPcap) else {
                throw fail(CaptureError(.badRecord, path: path, frameNumber: number,
                                        "timestamp \(header.pointee.ts.tv_sec) s + \(header.pointee.ts.tv_usec) ns is out of range"))
            }
            guard captured == 0 || data != nil else {
                throw fail(CaptureError(.badRecord, path: path, frameNumber: number, "libpcap returned a frame without data"))
            }
            // libpcap cuts a record longer than the snapshot length and skips its tail; the stream
            // moved past the whole record, so the distance says how long it really was.
            if let stream, let recordStart, recordStart >= 0, let headerLength = checkedRecordHeaderLength {
                let recordEnd = ftello(stream)
                let stored = Int(recordEnd - recordStart) - headerLength
                if recordEnd >= 0, stored > captured {
                    throw fail(CaptureError(.badRecord, path: path, frameNumber: number,
                                            "the record holds \(stored) bytes, more than the file's snapshot length of \(snapLength)"))
                }
            }
            framesRead = number
            return FrameView(
                number: number,
                timestampNanoseconds: timestamp,
                originalLength: Int(header.pointee.len),
                bytes: UnsafeRawBufferPointer(start: data, count: captured)
            )
        case PCAP_ERROR_BREAK:
            // -2: no more records.
            state = .finished
            return nil
        case PCAP_ERROR:
            // -1: libpcap's message says what is wrong, e.g. "truncated dump file; tried to read
            // 62 captured bytes, only got 52" or "invalid packet capture length 300000, bigger
            // than snaplen of 65535".
            let message = String(cString: pcap_geterr(pcap))
            let code: CaptureError.Code = message.contains("truncated") ? .truncatedFile : .badRecord
            throw fail(CaptureError(code, path: path, frameNumber: number, message))
        default:
            throw fail(CaptureError(.badRecord, path: path, frameNumber: number, "libpcap's pcap_next_ex returned \(status)"))
        }
    }

    /// Remembers `error` so later reads throw it too, and returns it.
    private func fail(_ error: CaptureError) -> CaptureError {
        state = .failed(error)
        return error
    }

    /// A record's time in nanoseconds, or `nil` if it does not fit. With nanosecond precision
    /// libpcap puts nanoseconds in `tv_usec`; pcapng's 64-bit times can overflow `time_t`.
    ///
    /// - Parameter unsignedSeconds: The time comes from a pcap record, whose seconds field is
    ///   unsigned 32-bit (as the format's specification and Wireshark read it) but which libpcap
    ///   reads as signed, turning times from 2038 to 2106 negative. This undoes that.
    private static func nanoseconds(_ time: timeval, unsignedSeconds: Bool) -> UInt64? {
        var secondsField = Int64(time.tv_sec)
        if unsignedSeconds, secondsField < 0, let field = Int32(exactly: secondsField) {
            secondsField = Int64(UInt32(bitPattern: field))
        }
        guard let seconds = UInt64(exactly: secondsField), let fraction = UInt64(exactly: time.tv_usec) else { return nil }
        let (scaled, overflowed) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflowedAgain) = scaled.addingReportingOverflow(fraction)
        return overflowed || overflowedAgain ? nil : total
    }

    // MARK: - Opening

    /// Gives a missing file, a folder, an unreadable, empty or foreign file its own error,
    /// rather than libpcap's one-size message.
    /// - Returns: The format the first bytes name, or nil for a FIFO or device, which is not looked at.
    @discardableResult
    private static func checkSource(_ path: String) throws(CaptureError) -> CaptureFileMagic.Finding? {
        switch FileSystem.entry(at: path) {
        case .missing:
            throw CaptureError(.notFound, path: path, "no such file")
        case .directory:
            throw CaptureError(.isDirectory, path: path, "is a folder, not a capture file")
        case .unreadable(let code):
            throw CaptureError(FileSystem.openingErrorCode(errno: code), path: path, FileSystem.describe(errno: code))
        case .regularFile(size: 0):
            throw CaptureError(.emptyFile, path: path, "empty file, no pcap header")
        case .other:
            // A FIFO or device: looking at its first bytes would consume them. libpcap judges it.
            return nil
        case .regularFile:
            break
        }
        let finding = CaptureFileMagic.inspect(path: path)
        switch finding {
        case .pcap, .pcapng:
            return finding
        case .unreadable(let code):
            throw CaptureError(FileSystem.openingErrorCode(errno: code), path: path, "cannot read: \(FileSystem.describe(errno: code))")
        case .tooShort(let count):
            throw CaptureError(.truncatedFile, path: path, "file is \(count) bytes long, too short for a pcap or pcapng header")
        case .unknown(let magic):
            let hex = magic.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined(separator: " ")
            throw CaptureError(.notACaptureFile, path: path, "not a pcap or pcapng file: it starts with bytes \(hex), no known magic number")
        }
    }

    /// libpcap's error buffer as a string: the bytes before the first NUL.
    private static func string(fromErrorBuffer buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension PcapReader {
    /// Where the reader is in the file.
    private enum State {
        case reading
        /// The last record has been read.
        case finished
        /// A read failed; the file position is unknown, so reading stops here.
        case failed(CaptureError)
    }
}
