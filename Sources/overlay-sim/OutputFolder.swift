import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The output folder of `overlay-sim run` as a transaction.
///
/// A run writes into a new hidden folder beside `--out` (`.NAME.run-PID-RANDOM`) and, when everything
/// is written, puts it in the place of `--out` in one step: Linux's `renameat2(RENAME_EXCHANGE)` swaps
/// the two folders atomically, then the previous result is deleted. So `--out` holds either the
/// previous result or the complete new one, never a mixture, and files of an earlier run (a deleted
/// pod's capture) never survive into a new one. A run that fails, is stopped at a limit, or receives
/// SIGINT or SIGTERM deletes its folder and says in one line what `--out` kept.
///
/// A second run into the same folder is refused while the first holds `.NAME.lock` beside it: a
/// `flock(2)` lock on a file that holds the holder's PID. The kernel drops the lock when its holder
/// dies, so a lock file left by a process that is gone (killed with SIGKILL, say) is taken over.
/// A folder that holds anything a run does not write (`*.pcap`, `drops.pcapng`, `report.json`) is
/// refused, since it would be replaced whole.
final class OutputFolder {
    /// `--out` as given, for messages.
    let shown: String
    /// `--out` as an absolute path.
    let path: String
    /// The run's folder beside `--out`; empty until it is made.
    private(set) var staging = ""
    let lockPath: String
    /// `--out` held a previous result when the run began.
    private(set) var hadPreviousResult = false
    private var lockDescriptor: Int32 = -1
    /// Serialises finishing (commit or abort) between the main thread and the signal handler.
    private let finishing = NSLock()
    private var finished = false
    /// Where the previous result went when the new one took its place, until it is deleted.
    private var previousResult: String?
    private var committed = false
    private var signalSources: [DispatchSourceSignal] = []
    /// Set while a progress line is on the terminal, so a message starts on a new line.
    nonisolated(unsafe) static var progressLineShown = false

    /// Files a run writes; anything else in `--out` means the folder is not a run's.
    static func isRunFile(_ name: String) -> Bool {
        name == "report.json" || name == "report.html" || name.hasSuffix(".pcap") || name == "drops.pcapng"
            // An interrupted run of an earlier version left hidden `.X.pcap.partial-PID-RANDOM` files here.
            || (name.hasPrefix(".") && name.contains(".partial-"))
    }

    /// Checks `--out`, takes its lock and makes the staging folder beside it.
    init(_ out: String) throws(RunFailure) {
        shown = out.hasSuffix("/") ? out : out + "/"
        let absolute = URL(fileURLWithPath: out).standardizedFileURL.path
        guard absolute != "/" else { throw RunFailure("\(out): the root folder cannot be a run's output folder") }
        path = absolute
        let parent = (absolute as NSString).deletingLastPathComponent
        let name = (absolute as NSString).lastPathComponent
        lockPath = parent + "/." + name + ".lock"
        // Before anything is created: from here on SIGINT and SIGTERM remove what this run made.
        installSignalHandlers()
        // A signal handled while the lock and the staging folder are being made waits for them.
        finishing.lock()
        defer { finishing.unlock() }

        var status = stat()
        if lstat(absolute, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFDIR: break
            case S_IFLNK:
                throw RunFailure("\(out): is a symbolic link; give --out the folder itself (a run replaces the folder it names)")
            default:
                throw RunFailure("\(out): is a file, not a folder; --out names the folder for the captures and report.json")
            }
        }
        try Self.makeFolder(parent, for: out)

        // The lock: flock on `.NAME.lock`, checked to still be the file at that path once held (another
        // run may have removed it between our open and our flock).
        var attempts = 0
        while true {
            attempts += 1
            let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw RunFailure("\(lockPath): cannot create the lock file (\(Self.describe(errno)))")
            }
            if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                var text = [UInt8](repeating: 0, count: 32)
                let count = read(descriptor, &text, text.count)
                Glibc.close(descriptor)
                guard code == EWOULDBLOCK else { throw RunFailure("\(lockPath): cannot lock (\(Self.describe(code)))") }
                let holder = String(decoding: text.prefix(max(0, count)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw RunFailure("\(out): another overlay-sim run (PID \(holder.isEmpty ? "unknown" : holder)) is writing this folder; wait for it to finish, or give another --out (its lock is \(lockPath))")
            }
            var held = stat(), current = stat()
            if fstat(descriptor, &held) == 0, stat(lockPath, &current) == 0, held.st_ino == current.st_ino, held.st_dev == current.st_dev {
                lockDescriptor = descriptor
                break
            }
            Glibc.close(descriptor)
            guard attempts < 10 else { throw RunFailure("\(lockPath): the lock file keeps changing; is another run starting?") }
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(lockDescriptor, 0)
        _ = pwrite(lockDescriptor, pid, pid.count, 0)

        var entries: [String] = []
        if lstat(absolute, &status) == 0 {
            do { entries = try FileManager.default.contentsOfDirectory(atPath: absolute) } catch {
                let code = errno
                Self.unlock(lockPath, lockDescriptor)
                throw RunFailure("\(out): cannot be read (\(Self.describe(code)))")
            }
            if let stranger = entries.sorted().first(where: { !Self.isRunFile($0) }) {
                Self.unlock(lockPath, lockDescriptor)
                throw RunFailure("\(out): holds '\(stranger)', which no run writes; a run replaces the whole folder, so give --out a new or empty folder, or one a run made")
            }
        }
        hadPreviousResult = entries.contains("report.json")

        // Staging folders of runs into this folder that died: ours to remove, since we hold the lock.
        let prefix = "." + name + ".run-"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasPrefix(prefix) {
            try? FileManager.default.removeItem(atPath: parent + "/" + entry)
        }
        staging = parent + "/" + prefix + "\(getpid())-" + String(UInt64.random(in: .min ... .max), radix: 16)
        guard mkdir(staging, 0o755) == 0 else {
            let code = errno
            Self.unlock(lockPath, lockDescriptor)
            staging = ""
            throw RunFailure("\(out): cannot create a folder beside it for the run (\(Self.describe(code)))")
        }
    }

    deinit {
        for source in signalSources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    /// The folder's parent, made if missing; a component that is a file is named.
    private static func makeFolder(_ folder: String, for out: String) throws(RunFailure) {
        var status = stat()
        if stat(folder, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw RunFailure("\(out): cannot create the output folder: \(folder) is a file, not a folder")
            }
            return
        }
        var prefix = ""
        for component in folder.split(separator: "/") {
            prefix += "/" + component
            if stat(prefix, &status) == 0 {
                guard status.st_mode & S_IFMT == S_IFDIR else {
                    throw RunFailure("\(out): cannot create the output folder: \(prefix) is a file, not a folder")
                }
                continue
            }
            guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
                throw RunFailure("\(out): cannot create the output folder: \(prefix): \(describe(errno))")
            }
        }
    }

    /// Writes `report.json` and `report.html` into the run's folder and puts the folder in the place of `--out`.
    /// - Throws: ``RunFailure`` naming the path and errno when a write fails; the staging folder is
    ///   then removed and `--out` is as it was.
    func commit(reportJSON: String, reportHTML: String) throws(RunFailure) {
        for (name, contents) in [("report.json", reportJSON), ("report.html", reportHTML)] {
            if let message = Self.write(contents, toNewFile: staging + "/" + name) { throw failure("\(shown)\(name): \(message)") }
        }

        finishing.lock()
        guard !finished else { finishing.unlock(); return }
        var old: String?
        var status = stat()
        if lstat(path, &status) == 0 {
            if Self.exchange(staging, path) {
                old = staging
            } else {
                // No RENAME_EXCHANGE (an old kernel, a file system without it): move the previous
                // result aside first. A crash between the two renames leaves it beside --out, not lost.
                let aside = staging + "-previous"
                guard rename(path, aside) == 0 else {
                    let code = errno
                    finishing.unlock()
                    throw failure("\(shown): cannot replace the previous result (\(Self.describe(code)))")
                }
                guard rename(staging, path) == 0 else {
                    let code = errno
                    _ = rename(aside, path)
                    finishing.unlock()
                    throw failure("\(shown): cannot put the new result in place (\(Self.describe(code)))")
                }
                old = aside
            }
        } else if rename(staging, path) != 0 {
            let code = errno
            finishing.unlock()
            throw failure("\(shown): cannot put the new result in place (\(Self.describe(code)))")
        }
        finished = true
        committed = true
        previousResult = old
        // The lock goes while `finishing` is held, so a signal handled now cannot leave it behind.
        Self.unlock(lockPath, lockDescriptor)
        lockDescriptor = -1
        finishing.unlock()
        if let old { try? FileManager.default.removeItem(atPath: old) }
    }

    /// Removes the run's folder after a failure and returns the line saying what `--out` holds.
    @discardableResult
    func abort() -> String {
        finishing.lock()
        defer { finishing.unlock() }
        guard !finished else { return keptLine }
        finished = true
        try? FileManager.default.removeItem(atPath: staging)
        Self.unlock(lockPath, lockDescriptor)
        lockDescriptor = -1
        return keptLine
    }

    var keptLine: String {
        hadPreviousResult ? "\(shown) keeps the previous result; nothing of this run was kept"
            : "nothing was written to \(shown)"
    }

    /// A failure while committing: the staging folder goes, and the message says what was kept.
    private func failure(_ message: String) -> RunFailure {
        RunFailure("\(message); \(abort())")
    }

    /// Creates `path` (which must not exist) holding `contents`; nil when written, else what went wrong.
    private static func write(_ contents: String, toNewFile path: String) -> String? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return "cannot be written (\(describe(errno)))" }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { all in Glibc.write(descriptor, UnsafeRawBufferPointer(rebasing: all[written...]).baseAddress, bytes.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                let code = errno
                Glibc.close(descriptor)
                return "cannot be written (\(describe(code)))"
            }
            written += result
        }
        if Glibc.close(descriptor) != 0 { return "cannot be written (\(describe(errno)))" }
        return nil
    }

    /// `run --html FILE`: the page goes to a hidden file beside FILE, which is renamed over FILE once
    /// whole, so FILE is the previous page or the new one, never a part.
    static func writeReplacing(_ contents: String, at path: String,
                               folderGiven: String = "--html names the file to write the page to") throws(RunFailure) {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let parent = (absolute as NSString).deletingLastPathComponent
        let name = (absolute as NSString).lastPathComponent
        var status = stat()
        if stat(absolute, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            throw RunFailure("\(path): is a folder; \(folderGiven)")
        }
        try makeFolder(parent, for: path)
        let partial = parent + "/." + name + ".partial-\(getpid())-" + String(UInt64.random(in: .min ... .max), radix: 16)
        if let message = write(contents, toNewFile: partial) {
            unlink(partial)
            throw RunFailure("\(path): \(message)")
        }
        guard rename(partial, absolute) == 0 else {
            let code = errno
            unlink(partial)
            throw RunFailure("\(path): cannot be written (\(describe(code)))")
        }
    }

    // MARK: - Signals

    /// SIGINT and SIGTERM are taken off their default action (which would leave the staging folder)
    /// and handled on a dispatch queue, outside signal context, where removing a folder is safe.
    private func installSignalHandlers() {
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.interrupted(by: number, name: name) }
            source.resume()
            signalSources.append(source)
        }
    }

    private func interrupted(by number: Int32, name: String) -> Never {
        finishing.lock()
        let newline = Self.progressLineShown ? "\n" : ""
        if finished {
            // Committed (the previous result may still be being deleted) or aborted: finish the deleting.
            // The main thread may be deleting the same folder at this moment; a walk that meets an entry
            // the other removed gives up, so it goes again until the folder is gone.
            if let previousResult {
                for _ in 0..<5 {
                    try? FileManager.default.removeItem(atPath: previousResult)
                    if access(previousResult, F_OK) != 0 { break }
                }
            }
            let what = committed ? "\(shown) holds its complete result" : keptLine
            FileHandle.standardError.write(Data("\(newline)overlay-sim: interrupted (\(name)) after the run finished; \(what)\n".utf8))
            _exit(128 + number)
        }
        finished = true
        // Rename first: the main thread, still writing, then finds no folder to create files in, and
        // files it has open are removed with the rest.
        if !staging.isEmpty {
            let trash = staging + "-interrupted"
            let target = rename(staging, trash) == 0 ? trash : staging
            for _ in 0..<3 {
                try? FileManager.default.removeItem(atPath: target)
                if access(target, F_OK) != 0 { break }
            }
        }
        Self.unlock(lockPath, lockDescriptor)
        FileHandle.standardError.write(Data("\(newline)overlay-sim: interrupted (\(name)); \(keptLine)\n".utf8))
        _exit(128 + number)
    }

    // MARK: - System calls

    private static func unlock(_ path: String, _ descriptor: Int32) {
        guard descriptor >= 0 else { return }
        // Unlink while still holding the lock, so a waiting run cannot lock the file being removed
        // (it checks the inode it locked is the one at the path).
        unlink(path)
        Glibc.close(descriptor)
    }

    /// `renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)`: swaps two paths in one step (Linux 3.15,
    /// glibc 2.28). Looked up at run time, as Swift's Glibc module does not declare it; false when it
    /// is missing or refused.
    private static func exchange(_ a: String, _ b: String) -> Bool {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let atCurrentDirectory: Int32 = -100, renameExchange: UInt32 = 1 << 1
        return renameat2(atCurrentDirectory, a, atCurrentDirectory, b, renameExchange) == 0
    }

    static func describe(_ code: Int32) -> String { "\(String(cString: strerror(code))), errno \(code)" }
}
