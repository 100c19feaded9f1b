/// A failure to open, read, write or close a capture file.
///
/// Match on ``code`` in code and tests; show ``reason`` (or ``description``) to people.
/// The reason is one sentence that starts with the file's path and says what is wrong,
/// quoting libpcap's own message (`pcap_geterr` or its error buffer) or the C library's
/// `strerror` text where one of them gave the cause.
public struct CaptureError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a value tests and callers can match on.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The file could not be opened for a reason none of the other codes names.
        case openFailed
        /// The file (when reading) or its parent folder (when writing) does not exist.
        case notFound
        /// The path names a folder where a file was expected.
        case isDirectory
        /// The operating system refused access: no permission, or a read-only file system.
        case permissionDenied
        /// The file holds zero bytes, so not even a file header.
        case emptyFile
        /// The file does not start with the magic number of a pcap or pcapng file.
        case notACaptureFile
        /// The link-layer type is not one this layer handles (only Ethernet is read), or
        /// libpcap cannot store it in a savefile.
        case unsupportedLinkType
        /// The file ends in the middle of a header or a record.
        case truncatedFile
        /// A record is malformed: an impossible captured length, a timestamp out of range, ...
        case badRecord
        /// Writing failed: disk full, I/O error, quota exceeded, ...
        case writeFailed
        /// Closing the file or moving it to its final name failed.
        case closeFailed
        /// An argument cannot be represented in a pcap file (snapshot length, timestamp, length).
        case invalidArgument
        /// The writer was used after it was closed or abandoned.
        case writerNotOpen
    }

    /// What went wrong, for matching.
    public let code: Code
    /// The capture file the failure concerns (the final path, for a writer).
    public let path: String
    /// The 1-based number of the frame being read or written when the failure happened,
    /// or `nil` when it concerns the file as a whole.
    public let frameNumber: Int?
    /// One sentence for people: the path, what is wrong, and the underlying library's text.
    public let reason: String

    /// The reason, on one line.
    public var description: String { reason }

    /// Builds an error whose reason reads `"<path>: <what>"` or `"<path>: frame N: <what>"`.
    ///
    /// Line breaks in `what` (libpcap messages have none today, but a file path may) are
    /// replaced by spaces so that ``description`` always stays on one line.
    init(_ code: Code, path: String, frameNumber: Int? = nil, _ what: String) {
        self.code = code
        self.path = path
        self.frameNumber = frameNumber
        let location = frameNumber.map { "\(path): frame \($0)" } ?? path
        self.reason = String("\(location): \(what)".map { $0.isNewline ? " " : $0 })
    }
}

extension CaptureError {
    /// A path refused before anything is opened because it is not where the caller's files must go
    /// (a capture outside its run's folder): code `.invalidArgument`, reason `"<path>: <what>"`.
    public static func outsideFolder(path: String, _ what: String) -> CaptureError {
        CaptureError(.invalidArgument, path: path, what)
    }
}
