#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a pcapng file (draft-ietf-opsawg-pcapng): one section, one interface per capture point,
/// and frames that each carry a comment.
///
/// libpcap reads pcapng but cannot write it, so this writer is the project's own and small: a Section
/// Header Block, an Interface Description Block per ``addInterface(name:linkType:snapLength:description:)``
/// (with `if_name`, `if_description` and `if_tsresol` = 9, nanoseconds), and an Enhanced Packet Block per
/// ``write(interface:bytes:timestampNanoseconds:originalLength:comment:)`` with the comment as `opt_comment`,
/// which Wireshark shows as `frame.comment` (`tshark -Y 'frame.comment contains "firewallDenied"'`) and
/// the interface's name as `frame.interface_name`.
///
/// Like ``PcapWriter`` the file is written to a hidden temporary file beside ``path`` and renamed onto it
/// by ``close()``; a writer abandoned, failed or released without closing leaves nothing under ``path``.
///
/// Writing is an observer's job, so ``write(interface:bytes:timestampNanoseconds:originalLength:comment:)``
/// does not throw: the first failure (a full disk, an unknown interface, a timestamp the format cannot
/// hold) is latched in ``error``, later frames are dropped, and ``close()`` throws it, leaving no file.
///
/// ```swift
/// let writer = try PcapngWriter(path: "Captures/default/drops.pcapng")
/// let tor = try writer.addInterface(name: "tor")
/// writer.write(interface: tor, bytes: frame, timestampNanoseconds: now, comment: "firewallDenied at tor: ...")
/// try writer.close()
/// ```
///
/// Block bodies are written little-endian; the Section Header's byte-order magic says so to readers.
/// Writing a frame allocates nothing once the scratch buffer has grown to the largest block (a comment
/// longer than an option holds is the exception: it is cut into a new array).
public final class PcapngWriter {
    /// A capture point: one Interface Description Block.
    public struct Interface: Hashable, Sendable {
        /// `if_name`: what Wireshark shows as `frame.interface_name`.
        public var name: String
        /// `if_description`, when given.
        public var description: String?
        public var linkType: LinkType
        /// The most bytes stored per frame on this interface.
        public var snapLength: UInt32
    }

    /// The path the file gets when ``close()`` succeeds.
    public let path: String
    /// The interfaces described so far; a frame names one by its index here.
    public private(set) var interfaces: [Interface] = []
    /// How many frames have been written.
    public private(set) var framesWritten = 0
    /// The first failure; once set, nothing more is written and ``close()`` throws it.
    public private(set) var error: CaptureError?

    private let temporaryPath: String
    private var stream: UnsafeMutablePointer<FILE>?
    private var streamBuffer: UnsafeMutablePointer<CChar>?
    /// Why `stream` is nil, for a late call.
    private var ending = "closed"
    /// One block at a time is assembled here, then written with one `fwrite`.
    private var block: [UInt8] = []

    /// Block types and option codes (draft-ietf-opsawg-pcapng §4, §4.1-4.3).
    enum Code {
        static let sectionHeaderBlock: UInt32 = 0x0A0D_0D0A
        static let interfaceDescriptionBlock: UInt32 = 1
        static let enhancedPacketBlock: UInt32 = 6
        static let byteOrderMagic: UInt32 = 0x1A2B_3C4D
        static let endOfOptions: UInt16 = 0
        static let comment: UInt16 = 1
        static let sectionUserApplication: UInt16 = 4
        static let interfaceName: UInt16 = 2
        static let interfaceDescription: UInt16 = 3
        static let interfaceTimestampResolution: UInt16 = 9
    }

    /// The longest option value: its length field is 16 bits, and the block must stay a multiple of 4.
    static let longestOptionValue = 65_532

    /// Creates the temporary file and writes the Section Header Block.
    ///
    /// - Parameters:
    ///   - path: Where the finished file goes; its folder must exist.
    ///   - application: `shb_userappl`, the program that wrote the file.
    ///   - bufferSize: stdio buffer bytes in front of the file.
    /// - Throws: ``CaptureError`` as ``PcapWriter/init(path:snapLength:linkType:bufferSize:)`` does for the
    ///   path (`.isDirectory`, `.notFound`, `.permissionDenied`, `.invalidArgument`), or `.writeFailed`.
    public convenience init(path: String, application: String = "overlay-sim",
                            bufferSize: Int = PcapWriter.defaultBufferSize) throws(CaptureError) {
        try self.init(path: path, application: application, bufferSize: bufferSize) { temporaryPath throws(CaptureError) in
            try PcapWriter.createTemporaryFile(at: temporaryPath, finalPath: path)
        }
    }

    /// Creates the writer with a custom way to open the temporary file's stream (tests put /dev/full there).
    init(path: String, application: String, bufferSize: Int,
         openStream: PcapWriter.StreamOpener) throws(CaptureError) {
        self.path = path
        self.temporaryPath = PcapWriter.temporaryPath(for: path)
        try PcapWriter.checkTarget(path)
        let stream = try openStream(temporaryPath)
        let size = max(bufferSize, 4096)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
        setvbuf(stream, buffer, _IOFBF, size)
        self.stream = stream
        self.streamBuffer = buffer
        block.reserveCapacity(4096)

        beginBlock(Code.sectionHeaderBlock)
        append(Code.byteOrderMagic)
        append(UInt16(1)) // major version
        append(UInt16(0)) // minor version
        append(UInt64.max) // section length: not given (-1)
        appendOption(Code.sectionUserApplication, application)
        appendEndOfOptions()
        finishBlock()
        if let error {
            abandon()
            throw error
        }
    }

    deinit {
        abandon()
    }

    /// Describes a capture point and returns the index frames on it are written with.
    ///
    /// - Parameters:
    ///   - name: `if_name`, e.g. `node-a:eth0` or `tor`.
    ///   - linkType: The link-layer type of its frames. libpcap reads a file only when every interface
    ///     has the same one, so keep to one type per file.
    ///   - snapLength: The most bytes stored per frame (0 is "no limit" in pcapng; 262144 is tcpdump's).
    ///   - description: `if_description`, when there is more to say than the name.
    /// - Returns: The interface's index, counted from 0 in the order interfaces were added.
    /// - Throws: ``CaptureError`` `.writerNotOpen` after ``close()`` or ``abandon()``; the latched ``error``.
    @discardableResult
    public func addInterface(name: String, linkType: LinkType = .ethernet, snapLength: UInt32 = 262_144,
                             description: String? = nil) throws(CaptureError) -> Int {
        guard stream != nil else { throw notOpenError() }
        if let error { throw error }
        beginBlock(Code.interfaceDescriptionBlock)
        append(UInt16(truncatingIfNeeded: linkType.fileValue))
        append(UInt16(0)) // reserved
        append(snapLength)
        appendOption(Code.interfaceName, name)
        if let description { appendOption(Code.interfaceDescription, description) }
        // if_tsresol 9: timestamps count nanoseconds (a power of ten, the high bit clear).
        appendOption(Code.interfaceTimestampResolution, [9])
        appendEndOfOptions()
        finishBlock()
        if let error { throw error }
        interfaces.append(Interface(name: name, description: description, linkType: linkType, snapLength: snapLength))
        return interfaces.count - 1
    }

    /// Appends one frame with an optional comment. Never throws: a failure is latched in ``error`` and
    /// reported by ``close()``; once one happened, later frames are not written.
    ///
    /// - Parameters:
    ///   - interface: An index ``addInterface(name:linkType:snapLength:description:)`` returned.
    ///   - bytes: The frame from its link-layer header; only the interface's snap length is stored.
    ///   - timestampNanoseconds: Nanoseconds since the Unix epoch.
    ///   - originalLength: The length on the wire when `bytes` holds only the frame's start; nil is
    ///     `bytes.count`.
    ///   - comment: `opt_comment`, UTF-8; cut (at a character) to the 65532 bytes an option holds.
    public func write(interface: Int, bytes: UnsafeRawBufferPointer, timestampNanoseconds: UInt64,
                      originalLength: Int? = nil, comment: String? = nil) {
        guard stream != nil, error == nil else { return }
        let frameNumber = framesWritten + 1
        guard interfaces.indices.contains(interface) else {
            error = CaptureError(.invalidArgument, path: path, frameNumber: frameNumber,
                                 "interface \(interface) was never added (the file has \(interfaces.count))")
            return
        }
        let wireLength = originalLength ?? bytes.count
        guard wireLength >= bytes.count, wireLength <= Int(UInt32.max) else {
            error = CaptureError(.invalidArgument, path: path, frameNumber: frameNumber,
                                 "original length \(wireLength) is less than the \(bytes.count) bytes given or above \(UInt32.max)")
            return
        }
        let snapLength = Int(interfaces[interface].snapLength)
        let captured = snapLength == 0 ? bytes.count : min(bytes.count, snapLength)
        beginBlock(Code.enhancedPacketBlock)
        append(UInt32(interface))
        append(UInt32(truncatingIfNeeded: timestampNanoseconds >> 32))
        append(UInt32(truncatingIfNeeded: timestampNanoseconds))
        append(UInt32(captured))
        append(UInt32(wireLength))
        block.append(contentsOf: bytes.prefix(captured))
        pad()
        if let comment {
            appendOption(Code.comment, comment)
            appendEndOfOptions()
        }
        finishBlock()
        if error == nil { framesWritten = frameNumber }
    }

    /// Appends one frame held in an array; see the `UnsafeRawBufferPointer` form.
    public func write(interface: Int, bytes: [UInt8], timestampNanoseconds: UInt64, originalLength: Int? = nil,
                      comment: String? = nil) {
        bytes.withUnsafeBytes { buffer in
            write(interface: interface, bytes: buffer, timestampNanoseconds: timestampNanoseconds,
                  originalLength: originalLength, comment: comment)
        }
    }

    /// Finishes the file: flushes, closes and renames it onto ``path``. On any failure, or when a write
    /// failed earlier, the temporary file is deleted and the failure thrown. Closing twice does nothing.
    ///
    /// - Throws: The latched ``error``; ``CaptureError`` `.writeFailed` or `.closeFailed`.
    public func close() throws(CaptureError) {
        guard let stream else {
            if ending == "closed" { return }
            throw notOpenError()
        }
        self.stream = nil
        var failure = error
        if failure == nil, fflush(stream) != 0 || ferror(stream) != 0 {
            let code = errno
            failure = CaptureError(.writeFailed, path: path, "flushing \(temporaryPath) failed: \(FileSystem.describe(errno: code))")
        }
        let closed = fclose(stream)
        let closeErrno = errno
        streamBuffer?.deallocate()
        streamBuffer = nil
        if failure == nil, closed != 0 {
            failure = CaptureError(.closeFailed, path: path, "closing \(temporaryPath) failed: \(FileSystem.describe(errno: closeErrno))")
        }
        if failure == nil, rename(temporaryPath, path) != 0 {
            let code = errno
            failure = CaptureError(.closeFailed, path: path, "renaming \(temporaryPath) to the final name failed: \(FileSystem.describe(errno: code))")
        }
        if let failure {
            unlink(temporaryPath)
            ending = "closed after a failure"
            error = failure
            throw failure
        }
        ending = "closed"
    }

    /// Gives up: closes and deletes the temporary file; nothing appears under ``path``.
    public func abandon() {
        guard let stream else { return }
        self.stream = nil
        fclose(stream)
        streamBuffer?.deallocate()
        streamBuffer = nil
        unlink(temporaryPath)
        ending = "abandoned"
    }

    // MARK: - Blocks

    private func beginBlock(_ type: UInt32) {
        block.removeAll(keepingCapacity: true)
        append(type)
        append(UInt32(0)) // total length, filled in by finishBlock
    }

    /// Writes the trailing length, patches the leading one, and sends the block to the file.
    private func finishBlock() {
        let total = UInt32(block.count + 4)
        append(total)
        withUnsafeBytes(of: total.littleEndian) { length in
            for index in 0..<4 { block[4 + index] = length[index] }
        }
        guard let stream, error == nil else { return }
        let written = block.withUnsafeBytes { bytes in fwrite(bytes.baseAddress, 1, bytes.count, stream) }
        if written != block.count || ferror(stream) != 0 {
            let code = errno
            error = CaptureError(.writeFailed, path: path, frameNumber: framesWritten + 1,
                                 "write to \(temporaryPath) failed: \(FileSystem.describe(errno: code))")
        }
    }

    private func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { block.append(contentsOf: $0) }
    }

    private func pad() {
        while block.count % 4 != 0 { block.append(0) }
    }

    private func appendOption(_ code: UInt16, _ value: [UInt8]) {
        append(code)
        append(UInt16(value.count))
        block.append(contentsOf: value)
        pad()
    }

    /// A text option: its UTF-8 bytes, in place when they fit (no copy), else cut at a character.
    private func appendOption(_ code: UInt16, _ text: String) {
        let count = text.utf8.count
        if count <= Self.longestOptionValue {
            append(code)
            append(UInt16(count))
            block.append(contentsOf: text.utf8)
            pad()
        } else {
            appendOption(code, Self.utf8(text, upTo: Self.longestOptionValue))
        }
    }

    private func appendEndOfOptions() {
        append(Code.endOfOptions)
        append(UInt16(0))
    }

    /// The UTF-8 bytes of `text`, cut at the last whole character that fits in `limit` bytes.
    static func utf8(_ text: String, upTo limit: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(text.utf8.count, limit))
        for character in text {
            let encoded = character.utf8
            if bytes.count + encoded.count > limit { break }
            bytes.append(contentsOf: encoded)
        }
        return bytes
    }

    private func notOpenError() -> CaptureError {
        CaptureError(.writerNotOpen, path: path, "the writer was \(ending); it writes no more frames")
    }
}
