#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Recognises a capture file by its first four bytes, before libpcap is asked to open it, so
/// that a file of some other kind is reported as such rather than by libpcap's generic message.
enum CaptureFileMagic {
    /// What the first four bytes say.
    enum Finding: Equatable {
        /// A pcap file: microsecond, nanosecond or Kuznetzov's modified format, either byte order;
        /// the size of its record headers (24 bytes in the modified format, else 16).
        case pcap(recordHeaderLength: Int)
        /// A pcapng file: a Section Header Block starts it.
        case pcapng
        /// Four bytes that start neither format.
        case unknown([UInt8])
        /// The file ended after this many bytes, before four.
        case tooShort(Int)
        /// The file could not be read; carries `errno`.
        case unreadable(errno: Int32)
    }

    /// The pcap magic numbers as they appear in a file written on a little-endian machine;
    /// the same numbers reversed are the big-endian files.
    private static let pcapMagicLittleEndian: [[UInt8]] = [
        [0xd4, 0xc3, 0xb2, 0xa1], // microsecond timestamps
        [0x4d, 0x3c, 0xb2, 0xa1], // nanosecond timestamps
        [0x34, 0xcd, 0xb2, 0xa1], // Alexey Kuznetzov's modified pcap
    ]

    /// pcapng's Section Header Block type, a palindrome so it reads the same in both byte orders.
    private static let pcapngMagic: [UInt8] = [0x0a, 0x0d, 0x0d, 0x0a]

    /// Reads the first four bytes of the file at `path` and names the format they start.
    static func inspect(path: String) -> Finding {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .unreadable(errno: errno) }
        defer { FileSystem.closeDescriptor(descriptor) }

        var magic = [UInt8](repeating: 0, count: 4)
        var filled = 0
        while filled < magic.count {
            let count = magic.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress.map { $0 + filled }, buffer.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                return .unreadable(errno: errno)
            }
            if count == 0 { return .tooShort(filled) }
            filled += count
        }
        if magic == pcapngMagic { return .pcapng }
        if pcapMagicLittleEndian.contains(magic) || pcapMagicLittleEndian.contains(magic.reversed()) {
            let modified = magic == pcapMagicLittleEndian[2] || magic.reversed() == pcapMagicLittleEndian[2]
            return .pcap(recordHeaderLength: modified ? 24 : 16)
        }
        return .unknown(magic)
    }
}
