#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file-system questions the capture layer asks before handing a path to libpcap,
/// so that a missing file, a folder or a permission problem gets a clear error of its own.
enum FileSystem {
    /// What is found at a path.
    enum Entry: Equatable {
        case missing
        case directory
        /// A regular file and its size in bytes.
        case regularFile(size: Int64)
        /// A device, FIFO, socket, ...: left to libpcap to judge.
        case other
        /// `stat` failed for a reason other than absence; carries `errno`.
        case unreadable(errno: Int32)
    }

    /// Looks at `path` with `stat`, so a symbolic link is judged by what it points to.
    static func entry(at path: String) -> Entry {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let code = errno
            return code == ENOENT ? .missing : .unreadable(errno: code)
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regularFile(size: Int64(status.st_size))
        default: return .other
        }
    }

    /// The folder that holds `path`: everything before the last `/`, `"/"` for a file at the
    /// root, `"."` for a bare file name.
    static func parentFolder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = path[..<slash]
        return folder.isEmpty ? "/" : String(folder)
    }

    /// The last component of `path`: everything after the last `/`.
    static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Closes a file descriptor (a free function here; inside the writer `close` means its method).
    static func closeDescriptor(_ descriptor: Int32) {
        _ = close(descriptor)
    }

    /// The C library's sentence for an `errno` value, e.g. `"No space left on device"`.
    static func describe(errno code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// Classifies an `errno` from `open` or `stat`.
    static func openingErrorCode(errno code: Int32) -> CaptureError.Code {
        switch code {
        case ENOENT, ENOTDIR: return .notFound
        case EACCES, EPERM, EROFS: return .permissionDenied
        case EISDIR: return .isDirectory
        case ENOSPC, EDQUOT, EIO: return .writeFailed
        default: return .openFailed
        }
    }
}
