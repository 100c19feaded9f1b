#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a command's lines go: standard output and standard error in the tool, arrays in tests.
///
/// The command logic takes a `Console` so tests run it in-process and read what it printed.
struct Console {
    /// Writes one line of results (standard output).
    var output: (String) -> Void
    /// Writes one line of diagnostics (standard error); results written before it appear first.
    var error: (String) -> Void
    /// Pushes buffered output out (at the end of a command).
    var flush: () -> Void = {}

    /// Standard output, buffered in 64 KiB blocks, and unbuffered standard error.
    static func standard() -> Console {
        let out = DescriptorWriter(descriptor: 1)
        let err = DescriptorWriter(descriptor: 2)
        return Console(
            output: { out.write($0 + "\n") },
            error: { line in
                out.flush()
                err.write(line + "\n")
                err.flush()
            },
            flush: { out.flush() }
        )
    }
}

/// A buffered writer on a file descriptor, with POSIX `write` (no stdio globals, which Swift 6's
/// concurrency checking rejects).
final class DescriptorWriter {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private let capacity = 1 << 16

    init(descriptor: Int32) {
        self.descriptor = descriptor
        buffer.reserveCapacity(capacity)
    }

    deinit { flush() }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= capacity { flush() }
    }

    /// Writes out what is buffered. A reader that went away (EPIPE) or a full disk loses the rest; a
    /// command's results cannot be reported anywhere better.
    func flush() {
        var written = 0
        buffer.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            while written < bytes.count {
                let count = systemWrite(descriptor, base + written, bytes.count - written)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                written += count
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// POSIX `write`, named so it does not clash with the writer's own method.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
