import CPcap

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes frames to a pcap file with nanosecond timestamps, through libpcap.
///
/// The file appears under its final name only when ``close()`` has succeeded. Until then the
/// frames go to a hidden temporary file in the same folder (`.<name>.partial-<pid>-<random>`),
/// which ``close()`` renames onto the final path in one step. A writer that fails, is
/// abandoned with ``abandon()``, or is released without being closed deletes its temporary
/// file, so a reader never finds a half-written capture under the name it asked for.
///
/// ```swift
/// let writer = try PcapWriter(path: "Captures/demo/node-a.pcap")
/// try writer.write(frameBytes, timestampNanoseconds: 1_700_000_000_123_456_789)
/// try writer.close()
/// ```
///
/// Writing a frame allocates nothing. The writer is not thread-safe: use it from one task.
public final class PcapWriter {
    /// The path the file gets when ``close()`` succeeds.
    public let path: String
    /// The most bytes of a frame that are stored; longer frames are cut, their original length kept.
    public let snapLength: UInt32
    /// The link-layer type recorded in the file header.
    public let linkType: LinkType
    // Performance: `@exclusivity(unchecked)` on the two properties `write` touches per frame turns off
    // only their *dynamic* exclusivity checks (static checking stays): a runtime `swift_beginAccess` per
    // access cost ~120 instructions a frame in callgrind, a third of libpcap's whole `pcap_dump`. No
    // method holds an access to either across a call, so there is no overlap for the check to catch.
    /// How many frames have been written so far.
    @exclusivity(unchecked) public private(set) var framesWritten = 0

    /// The size of the stdio buffer in front of the file. libpcap's stream otherwise gets the
    /// C library's default (4 KiB on glibc), which makes a `write` system call every few
    /// frames and halves throughput.
    public static let defaultBufferSize = 1 << 20
    /// The stdio buffer size of this writer: smaller for a simulation writing hundreds of files at once.
    public let bufferSize: Int

    /// Opens a stream on the temporary file: the seam tests use to put a failing device behind
    /// the writer. It must return a stream nobody has written to yet, whose `fclose` leaves
    /// the temporary file in place for the writer to rename or delete.
    typealias StreamOpener = (_ temporaryPath: String) throws(CaptureError) -> UnsafeMutablePointer<FILE>

    private let temporaryPath: String
    /// The libpcap handles while the file is open; `nil` once closed, abandoned or failed.
    @exclusivity(unchecked) private var dump: OpenDump?
    /// Why `dump` is `nil`, for the error a late `write` or `close` reports.
    private var ending = Ending.closed
    /// The `errno` of the first failed write, kept because later calls overwrite `errno`.
    private var firstWriteErrno: Int32?

    /// Creates the writer and its temporary file, and writes the pcap file header.
    ///
    /// - Parameters:
    ///   - path: Where the finished file goes. Its folder must exist and be writable;
    ///     an existing file there is replaced when ``close()`` succeeds.
    ///   - snapLength: The most bytes stored per frame, 1 through 2³¹−1. The default,
    ///     262144, is what tcpdump and Wireshark use.
    ///   - linkType: The link-layer type of the frames; Ethernet unless told otherwise.
    ///   - bufferSize: Bytes of stdio buffer in front of the file (at least 4096).
    /// - Throws: ``CaptureError`` with code `.isDirectory` when `path` is a folder,
    ///   `.notFound` when its folder is missing, `.permissionDenied` when the folder cannot
    ///   be written, `.invalidArgument` for a bad snapshot length, `.unsupportedLinkType`
    ///   when libpcap cannot store `linkType` in a file.
    public convenience init(path: String, snapLength: UInt32 = 262_144, linkType: LinkType = .ethernet,
                            bufferSize: Int = PcapWriter.defaultBufferSize) throws(CaptureError) {
        try self.init(path: path, snapLength: snapLength, linkType: linkType, bufferSize: bufferSize) { temporaryPath throws(CaptureError) in
            try PcapWriter.createTemporaryFile(at: temporaryPath, finalPath: path)
        }
    }

    /// Creates the writer with a custom way to open the temporary file's stream (for tests).
    init(path: String, snapLength: UInt32, linkType: LinkType, bufferSize: Int = PcapWriter.defaultBufferSize,
         openStream: StreamOpener) throws(CaptureError) {
        self.path = path
        self.bufferSize = max(bufferSize, 4096)
        self.snapLength = snapLength
        self.linkType = linkType
        self.temporaryPath = Self.temporaryPath(for: path)

        guard snapLength >= 1, snapLength <= UInt32(Int32.max) else {
            throw CaptureError(.invalidArgument, path: path, "snapshot length \(snapLength) is not between 1 and \(Int32.max)")
        }
        try Self.checkTarget(path)

        guard let pcap = pcap_open_dead_with_tstamp_precision(
            linkType.rawValue, Int32(snapLength), UInt32(PCAP_TSTAMP_PRECISION_NANO)
        ) else {
            throw CaptureError(.openFailed, path: path, "libpcap could not allocate a capture handle")
        }
        let stream: UnsafeMutablePointer<FILE>
        do {
            stream = try openStream(temporaryPath)
        } catch {
            pcap_close(pcap)
            throw error
        }
        // setvbuf must come before any I/O on the stream, so before pcap_dump_fopen writes the
        // file header. glibc ignores the size when not given a buffer, so we supply our own.
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: self.bufferSize)
        setvbuf(stream, buffer, _IOFBF, self.bufferSize)

        guard let dumper = pcap_dump_fopen(pcap, stream) else {
            // pcap_dump_fopen fails in two ways: the link type has no savefile equivalent (the
            // stream is left open), or writing the 24-byte header fails (libpcap closes the
            // stream). The second cannot happen here: the header only lands in our empty
            // buffer, no system call is made. So the stream is still ours to close.
            let message = String(cString: pcap_geterr(pcap))
            fclose(stream)
            buffer.deallocate()
            pcap_close(pcap)
            unlink(temporaryPath)
            throw CaptureError(.unsupportedLinkType, path: path, "link type \(linkType) cannot be written to a pcap file: \(message)")
        }
        self.dump = OpenDump(pcap: pcap, dumper: dumper, stream: stream, buffer: buffer)
    }

    deinit {
        abandon()
    }

    /// Appends one frame.
    ///
    /// - Parameters:
    ///   - bytes: The frame, starting with its link-layer header. Only the first ``snapLength``
    ///     bytes are stored.
    ///   - timestampNanoseconds: Nanoseconds since the Unix epoch; the pcap format holds
    ///     seconds up to 2³²−1 (early 2106).
    ///   - originalLength: The frame's length on the wire when `bytes` holds only its start;
    ///     `nil` means `bytes.count`. Must not be less than `bytes.count`.
    /// - Throws: ``CaptureError`` with code `.writeFailed` (with the system's reason, e.g. no space
    ///   left on device) when the stream reports an error, `.invalidArgument` for a timestamp or
    ///   length the format cannot hold, `.writerNotOpen` after ``close()`` or ``abandon()``.
    public func write(_ bytes: UnsafeRawBufferPointer, timestampNanoseconds: UInt64, originalLength: Int? = nil) throws(CaptureError) {
        guard let dump else { throw notOpenError() }
        let frameNumber = framesWritten + 1
        let wireLength = originalLength ?? bytes.count
        guard wireLength >= bytes.count, wireLength <= Int(UInt32.max) else {
            throw CaptureError(.invalidArgument, path: path, frameNumber: frameNumber,
                               "original length \(wireLength) is less than the \(bytes.count) bytes given or above \(UInt32.max)")
        }
        let seconds = timestampNanoseconds / 1_000_000_000
        guard seconds <= UInt64(UInt32.max) else {
            throw CaptureError(.invalidArgument, path: path, frameNumber: frameNumber,
                               "timestamp \(timestampNanoseconds) ns is past the pcap format's last second, \(UInt32.max)")
        }
        // In a nanosecond-precision file libpcap reads tv_usec as nanoseconds.
        var header = pcap_pkthdr(
            ts: timeval(tv_sec: time_t(seconds), tv_usec: suseconds_t(timestampNanoseconds % 1_000_000_000)),
            caplen: UInt32(min(bytes.count, Int(snapLength))),
            len: UInt32(wireLength)
        )
        pcap_dump(UnsafeMutablePointer<UInt8>(dump.dumper), &header, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        // pcap_dump ignores fwrite's result; the stream's error flag is where a failure shows.
        // With a large buffer it shows only when the buffer is flushed, maybe frames later.
        if ferror(dump.stream) != 0 {
            let failure = firstWriteErrno ?? errno
            firstWriteErrno = failure
            throw CaptureError(.writeFailed, path: path, frameNumber: frameNumber,
                               "write to \(temporaryPath) failed: \(FileSystem.describe(errno: failure))")
        }
        framesWritten = frameNumber
    }

    /// Appends one frame held in an array; the same as the `UnsafeRawBufferPointer` form, without copying.
    public func write(_ bytes: [UInt8], timestampNanoseconds: UInt64, originalLength: Int? = nil) throws(CaptureError) {
        let outcome = bytes.withUnsafeBytes { buffer in
            Result { () throws(CaptureError) in
                try write(buffer, timestampNanoseconds: timestampNanoseconds, originalLength: originalLength)
            }
        }
        try outcome.get()
    }

    /// Finishes the file: flushes it, closes it, and moves it to ``path``.
    ///
    /// Every step's result is checked before the rename, so the file appears under its final
    /// name only if all of it reached the operating system. On failure the temporary file is
    /// deleted and nothing is left under ``path`` (a file that was there before stays).
    /// Closing a closed writer does nothing.
    ///
    /// The file is not `fsync`ed: a capture can be made again from its scenario and seed, so
    /// the guarantee is against errors and crashes of this process, not against power loss.
    ///
    /// - Throws: ``CaptureError`` with code `.writeFailed` when data could not be written,
    ///   `.closeFailed` when closing or renaming failed, `.writerNotOpen` after ``abandon()``
    ///   or a failed close.
    public func close() throws(CaptureError) {
        if ending == .suspended {
            ending = .closed
            guard rename(temporaryPath, path) == 0 else {
                let code = errno
                unlink(temporaryPath)
                ending = .failed
                throw CaptureError(.closeFailed, path: path, "renaming \(temporaryPath) to the final name failed: \(FileSystem.describe(errno: code))")
            }
            return
        }
        guard let dump else {
            if ending == .closed { return }
            throw notOpenError()
        }
        self.dump = nil

        var failure = flushAndRelease(dump, closeFailure: .closeFailed)
        if failure == nil, rename(temporaryPath, path) != 0 {
            let code = errno
            failure = CaptureError(.closeFailed, path: path, "renaming \(temporaryPath) to the final name failed: \(FileSystem.describe(errno: code))")
        }
        if let failure {
            unlink(temporaryPath)
            ending = .failed
            throw failure
        }
        ending = .closed
    }

    /// Gives up on the file: closes it and deletes the temporary file; nothing appears under
    /// ``path``. Does nothing if the writer is already closed or abandoned.
    public func abandon() {
        if ending == .suspended {
            unlink(temporaryPath)
            ending = .abandoned
            return
        }
        guard let dump else { return }
        self.dump = nil
        _ = dump.release()
        unlink(temporaryPath)
        ending = .abandoned
    }

    // MARK: - Suspending

    /// True while the writer holds no file descriptor (between ``suspend()`` and ``resume()``).
    public var isSuspended: Bool { ending == .suspended }

    /// Flushes and closes the temporary file, keeping it, so the writer holds no file descriptor and
    /// no buffer until ``resume()``: a simulation with thousands of pod captures keeps a bounded
    /// number open. The bytes of the finished file are the same as if it had never been suspended.
    /// ``close()`` and ``abandon()`` work on a suspended writer; ``write(_:timestampNanoseconds:originalLength:)`` does not.
    /// - Throws: ``CaptureError`` with code `.writeFailed` when the buffered frames could not be
    ///   written (the temporary file is deleted and the writer is failed), `.writerNotOpen` when the
    ///   writer is not open.
    public func suspend() throws(CaptureError) {
        guard let dump else { throw notOpenError() }
        self.dump = nil
        if let failure = flushAndRelease(dump, closeFailure: .writeFailed) {
            unlink(temporaryPath)
            ending = .failed
            throw failure
        }
        ending = .suspended
    }

    /// Flushes the dumper's buffered records and closes its stream, as ``close()`` and ``suspend()`` both
    /// must; the first failure, if any (a failed close is `closeFailure`: the end of the file for
    /// `close`, a write still owed for `suspend`).
    private func flushAndRelease(_ dump: OpenDump, closeFailure: CaptureError.Code) -> CaptureError? {
        var failure: CaptureError?
        if pcap_dump_flush(dump.dumper) != 0 || ferror(dump.stream) != 0 {
            let code = firstWriteErrno ?? errno
            failure = CaptureError(.writeFailed, path: path, "flushing \(temporaryPath) failed: \(FileSystem.describe(errno: code))")
        }
        if let closeErrno = dump.release(), failure == nil {
            failure = CaptureError(closeFailure, path: path, "closing \(temporaryPath) failed: \(FileSystem.describe(errno: closeErrno))")
        }
        return failure
    }

    /// Opens the temporary file again, for appending, after ``suspend()``. The file header is not
    /// written again: libpcap's dumper is the `FILE *` itself (`pcap_dump` writes a record header and
    /// the bytes to it), so a stream opened for appending continues the file where it stopped.
    /// - Throws: ``CaptureError`` with the system's reason when the file cannot be opened (too many
    ///   open files, say); the writer stays suspended.
    public func resume() throws(CaptureError) {
        guard ending == .suspended else { throw notOpenError() }
        guard let pcap = pcap_open_dead_with_tstamp_precision(
            linkType.rawValue, Int32(snapLength), UInt32(PCAP_TSTAMP_PRECISION_NANO)
        ) else {
            throw CaptureError(.openFailed, path: path, "libpcap could not allocate a capture handle")
        }
        let descriptor = open(temporaryPath, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0, let stream = fdopen(descriptor, "ab") else {
            let code = errno
            if descriptor >= 0 { FileSystem.closeDescriptor(descriptor) }
            pcap_close(pcap)
            throw CaptureError(FileSystem.openingErrorCode(errno: code), path: path,
                               "cannot open \(temporaryPath) again: \(FileSystem.describe(errno: code))")
        }
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bufferSize)
        setvbuf(stream, buffer, _IOFBF, bufferSize)
        dump = OpenDump(pcap: pcap, dumper: OpaquePointer(stream), stream: stream, buffer: buffer)
        ending = .closed
    }

    // MARK: - Opening

    /// `.<name>.partial-<pid>-<random>` beside the final path: the same folder, so the final
    /// rename stays on one file system and is atomic; hidden, so tools listing captures skip it;
    /// random, so two writers for the same path never share a temporary file.
    static func temporaryPath(for path: String) -> String {
        let folder = FileSystem.parentFolder(of: path)
        let name = FileSystem.fileName(of: path)
        let unique = String(UInt64.random(in: .min ... .max), radix: 16)
        let temporaryName = ".\(name).partial-\(getpid())-\(unique)"
        return folder == "/" ? "/\(temporaryName)" : "\(folder)/\(temporaryName)"
    }

    /// Refuses a target that is a folder, or whose folder is missing or not a folder, before
    /// anything is created.
    static func checkTarget(_ path: String) throws(CaptureError) {
        if path.isEmpty || path.hasSuffix("/") {
            throw CaptureError(.isDirectory, path: path, "the path names a folder, not a file")
        }
        switch FileSystem.entry(at: path) {
        case .directory:
            throw CaptureError(.isDirectory, path: path, "is a folder; give a file name inside it")
        case .unreadable(let code):
            throw CaptureError(FileSystem.openingErrorCode(errno: code), path: path, FileSystem.describe(errno: code))
        case .other:
            // A device, FIFO or socket: renaming the finished file over it would replace, say, /dev/null.
            throw CaptureError(.invalidArgument, path: path,
                               "is not a regular file (a device, pipe or socket); captures are written to files")
        case .missing, .regularFile:
            break
        }
        let folder = FileSystem.parentFolder(of: path)
        switch FileSystem.entry(at: folder) {
        case .directory:
            break
        case .missing:
            throw CaptureError(.notFound, path: path, "folder \(folder) does not exist")
        case .regularFile, .other:
            throw CaptureError(.notFound, path: path, "\(folder) is not a folder")
        case .unreadable(let code):
            throw CaptureError(FileSystem.openingErrorCode(errno: code), path: path,
                               "cannot look at folder \(folder): \(FileSystem.describe(errno: code))")
        }
    }

    /// Creates the temporary file (refusing to reuse an existing one) and opens a stream on it.
    static func createTemporaryFile(at temporaryPath: String, finalPath: String) throws(CaptureError) -> UnsafeMutablePointer<FILE> {
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            throw CaptureError(FileSystem.openingErrorCode(errno: code), path: finalPath,
                               "cannot create a file in folder \(FileSystem.parentFolder(of: finalPath)): \(FileSystem.describe(errno: code))")
        }
        guard let stream = fdopen(descriptor, "wb") else {
            let code = errno
            FileSystem.closeDescriptor(descriptor)
            unlink(temporaryPath)
            throw CaptureError(.openFailed, path: finalPath, "cannot open a stream on \(temporaryPath): \(FileSystem.describe(errno: code))")
        }
        return stream
    }

    private func notOpenError() -> CaptureError {
        CaptureError(.writerNotOpen, path: path, "the writer was \(ending.rawValue); it writes no more frames")
    }
}

extension PcapWriter {
    /// How a writer stopped writing.
    private enum Ending: String {
        case closed
        case abandoned
        case failed = "closed after a failure"
        case suspended = "suspended (resume it first)"
    }

    /// The C resources of an open file.
    private struct OpenDump {
        let pcap: OpaquePointer
        /// In libpcap a dumper is the `FILE *` it was given, so `stream` and `dumper` are one object.
        let dumper: OpaquePointer
        let stream: UnsafeMutablePointer<FILE>
        let buffer: UnsafeMutablePointer<CChar>

        /// Closes the stream and frees everything; returns `errno` if `fclose` failed.
        ///
        /// We call `fclose` rather than `pcap_dump_close`, which does only `fclose` but throws
        /// its result away: a failed close can mean the last data never reached the disk.
        func release() -> Int32? {
            let result = fclose(stream)
            let code = errno
            buffer.deallocate()
            pcap_close(pcap)
            return result == 0 ? nil : code
        }
    }
}
