import Capture
import Foundation
import PacketWire

/// The simulation's capture points, one pcap each, written through libpcap as packets pass: each
/// node's underlay interface (`NODE-underlay.pcap`, what tcpdump on eth0 shows), each VTEP's inner side
/// (`NODE-vtep.pcap`, tcpdump on flannel.1), each pod's interface (`pod-NAME.pcap`), and `drops.pcap`:
/// every frame dropped anywhere (a firewall, a full queue, an MTU, a VTEP refusing it), as it was at the
/// point of the drop, with `drops.pcapng` beside it: the same frames, each carrying its drop's code,
/// place and sentence as a pcapng comment, each place of a drop an interface (``DropCaptureWithReasons``).
///
/// Names come from the scenario, so they are made safe before they become file names
/// (``fileName(for:)``), and every file is checked to land inside the capture folder once the folder's
/// path is resolved. Node and drop captures stay open for the whole run; pod captures, which can number
/// thousands, share a bounded number of open files (``maximumOpenPodCaptures``): the least recently
/// written one is suspended (flushed and closed, its file kept) when another must open, and resumed when
/// it is written again, so the finished files are the same bytes either way.
final class CaptureSet {
    let directory: String
    let settings: CaptureSettings
    private var underlay: [PcapWriter?]
    private var vtep: [PcapWriter?]
    private var pods: [String: PodCapture] = [:]
    private var drops: PcapWriter?
    /// drops.pcapng: the frames of drops.pcap with their reasons.
    private var dropsWithReasons: DropCaptureWithReasons?
    /// Every file, in the order opened, for closing.
    private var all: [PcapWriter] = []
    /// File names given out so far: two scenario names that sanitise alike get distinct files.
    private var usedFileNames: Set<String> = []
    /// Smaller stdio buffers when a scenario opens many files at once.
    private let bufferSize: Int
    /// The capture folder with symbolic links and `..` resolved: every file must be directly inside it.
    private let resolvedDirectory: String
    /// Bytes handed to the capture files so far (file and record headers included): what
    /// `--max-capture-bytes` limits.
    private(set) var bytesWritten: UInt64 = 0
    /// Pod captures open at once, at most; the rest are suspended.
    let maximumOpenPodCaptures: Int
    /// The pod captures open now (at most ``maximumOpenPodCaptures``), in no particular order.
    private var openPodCaptures: [PodCapture] = []
    /// Advances on every pod capture write, to find the least recently written one.
    private var podClock: UInt64 = 0
    /// Captures carry the simulation's virtual time from this epoch (2026-01-01T00:00:00Z), so files are
    /// the same on every run and tools show plausible dates.
    static let epochNanoseconds: UInt64 = 1_767_225_600 * 1_000_000_000
    /// Bytes of a pcap file header and of each record header, for ``bytesWritten``.
    static let fileHeaderBytes: UInt64 = 24, recordHeaderBytes: UInt64 = 16

    final class PodCapture {
        let writer: PcapWriter
        var lastWritten: UInt64 = 0
        init(_ writer: PcapWriter) { self.writer = writer }
    }

    /// - Parameters:
    ///   - maximumOpenPodCaptures: pod captures open at once; nil takes a share of the process's file
    ///     descriptor limit (`RLIMIT_NOFILE`) that leaves room for the node captures and the rest of the
    ///     program, between 4 and 256.
    init(directory: String, settings: CaptureSettings, nodeNames: [String], podCount: Int,
         maximumOpenPodCaptures: Int? = nil) throws(CaptureError) {
        self.directory = directory
        self.settings = settings
        let nodeFiles = (settings.underlay ? nodeNames.count : 0) + (settings.vtep ? nodeNames.count : 0) + 1
        let files = nodeFiles + (settings.pods ? podCount : 0)
        bufferSize = files > 64 ? 64 * 1024 : PcapWriter.defaultBufferSize
        self.maximumOpenPodCaptures = max(1, maximumOpenPodCaptures ?? Self.podCaptureShare(besides: nodeFiles))
        guard let resolved = Self.resolve(directory) else {
            throw CaptureError.outsideFolder(path: directory, "the capture folder cannot be resolved: \(String(cString: strerror(errno)))")
        }
        resolvedDirectory = resolved
        underlay = Array(repeating: nil, count: nodeNames.count)
        vtep = Array(repeating: nil, count: nodeNames.count)
        for (index, name) in nodeNames.enumerated() {
            if settings.underlay { underlay[index] = try open(Self.fileName(for: name) + "-underlay.pcap") }
            if settings.vtep { vtep[index] = try open(Self.fileName(for: name) + "-vtep.pcap") }
        }
        if settings.drops {
            drops = try open("drops.pcap")
            dropsWithReasons = DropCaptureWithReasons(try PcapngWriter(path: try checkedPath("drops.pcapng"), bufferSize: bufferSize))
            usedFileNames.insert("drops.pcapng")
            bytesWritten &+= DropCaptureWithReasons.sectionHeaderBytes
        }
    }

    /// What of the soft file descriptor limit pod captures may hold: the limit less the node captures
    /// and 64 for everything else (standard streams, libraries, the scenario file, the lock file).
    static func podCaptureShare(besides nodeFiles: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 16 }
        let soft = Int(clamping: min(limit.rlim_cur, 1 << 20))
        return min(256, max(4, soft - nodeFiles - 64))
    }

    /// A scenario name as a file name: letters, digits, `-`, `_` and `.` are kept, anything else (a `/`,
    /// a control character, a space, non-ASCII) becomes `_`, and a `.` at the start or after another
    /// `.` becomes `_`, so no name is `..`, hidden, or a path. Kubernetes names (DNS labels) are kept as
    /// they are.
    static func fileName(for name: String) -> String {
        var result = ""
        var previous: Character = "."
        for character in name {
            let safe: Character
            if character.isASCII && (character.isLetter || character.isNumber || character == "-" || character == "_") {
                safe = character
            } else if character == "." && previous != "." {
                safe = "."
            } else {
                safe = "_"
            }
            result.append(safe)
            previous = character
        }
        return result.isEmpty ? "_" : result
    }

    /// `path` with symbolic links, `.` and `..` resolved (realpath(3)), or nil when it does not exist.
    static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func open(_ wanted: String) throws(CaptureError) -> PcapWriter {
        var file = wanted
        if usedFileNames.contains(file) {
            let stem = file.hasSuffix(".pcap") ? String(file.dropLast(5)) : file
            var suffix = 2
            while usedFileNames.contains("\(stem)-\(suffix).pcap") { suffix += 1 }
            file = "\(stem)-\(suffix).pcap"
        }
        let path = try checkedPath(file)
        usedFileNames.insert(file)
        let writer = try PcapWriter(path: path, bufferSize: bufferSize)
        bytesWritten &+= Self.fileHeaderBytes
        all.append(writer)
        return writer
    }

    /// The path of `file` in the capture folder, checked to land there.
    private func checkedPath(_ file: String) throws(CaptureError) -> String {
        // The name has no `/` and is not `.` or `..`, so the file's folder is the capture folder; check
        // it after resolution all the same, as the promise is about where files land, not about names.
        let path = directory + "/" + file
        guard !file.contains("/"), file != ".", file != "..",
              let parent = Self.resolve((path as NSString).deletingLastPathComponent), parent == resolvedDirectory else {
            throw CaptureError.outsideFolder(path: path, "would be written outside the capture folder \(directory)")
        }
        return path
    }

    @inline(__always)
    private func count(_ bytes: UnsafeRawBufferPointer) {
        bytesWritten &+= Self.recordHeaderBytes &+ UInt64(bytes.count)
    }

    @inline(__always)
    func underlay(_ node: Int, _ bytes: UnsafeRawBufferPointer, at time: Nanoseconds) throws(CaptureError) {
        guard let writer = underlay[node] else { return }
        count(bytes)
        try writer.write(bytes, timestampNanoseconds: Self.epochNanoseconds &+ time)
    }

    @inline(__always)
    func vtep(_ node: Int, _ bytes: UnsafeRawBufferPointer, at time: Nanoseconds) throws(CaptureError) {
        guard let writer = vtep[node] else { return }
        count(bytes)
        try writer.write(bytes, timestampNanoseconds: Self.epochNanoseconds &+ time)
    }

    /// A frame dropped anywhere, into drops.pcap and, with its reason, into drops.pcapng.
    ///
    /// - Parameters:
    ///   - place: Where it was dropped: the pcapng interface it is written on.
    ///   - flow: The traffic entry it belongs to, named in the comment when known.
    func drop(_ bytes: UnsafeRawBufferPointer, at time: Nanoseconds, place: String, reason: DropReason,
              flow: String?) throws(CaptureError) {
        guard let drops else { return }
        count(bytes)
        try drops.write(bytes, timestampNanoseconds: Self.epochNanoseconds &+ time)
        if let dropsWithReasons {
            bytesWritten &+= try dropsWithReasons.write(bytes, timestampNanoseconds: Self.epochNanoseconds &+ time,
                                                        place: place, reason: reason, flow: flow)
        }
    }

    func pod(_ name: String, _ bytes: UnsafeRawBufferPointer, at time: Nanoseconds) throws(CaptureError) {
        guard settings.pods else { return }
        podClock &+= 1
        let capture: PodCapture
        if let existing = pods[name] {
            capture = existing
            if capture.writer.isSuspended {
                try makeRoomForAPodCapture()
                try capture.writer.resume()
                openPodCaptures.append(capture)
            }
        } else {
            try makeRoomForAPodCapture()
            capture = PodCapture(try open("pod-\(Self.fileName(for: name)).pcap"))
            openPodCaptures.append(capture)
            pods[name] = capture
        }
        capture.lastWritten = podClock
        count(bytes)
        try capture.writer.write(bytes, timestampNanoseconds: Self.epochNanoseconds &+ time)
    }

    /// Suspends the least recently written open pod capture when the open ones are at the maximum.
    private func makeRoomForAPodCapture() throws(CaptureError) {
        guard openPodCaptures.count >= maximumOpenPodCaptures,
              let oldest = openPodCaptures.indices.min(by: { openPodCaptures[$0].lastWritten < openPodCaptures[$1].lastWritten })
        else { return }
        let capture = openPodCaptures[oldest]
        openPodCaptures.swapAt(oldest, openPodCaptures.count - 1)
        openPodCaptures.removeLast()
        try capture.writer.suspend()
    }

    var files: [String] {
        (all.map { ($0.path as NSString).lastPathComponent } + (dropsWithReasons.map { [($0.writer.path as NSString).lastPathComponent] } ?? [])).sorted()
    }

    /// Closes every file; each lands under its final name only now.
    func close() throws(CaptureError) {
        var firstError: CaptureError?
        for writer in all {
            do { try writer.close() } catch { if firstError == nil { firstError = error } }
        }
        if let dropsWithReasons {
            do { try dropsWithReasons.close() } catch { if firstError == nil { firstError = error } }
        }
        if let firstError { throw firstError }
    }

    /// Removes every partial file after a failed run.
    func abandon() {
        for writer in all { writer.abandon() }
        dropsWithReasons?.writer.abandon()
    }
}
