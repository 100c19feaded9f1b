import Capture
import Foundation
import PacketWire

/// The simulation's capture points, one pcap each, written through libpcap as packets pass: each
/// node's underlay interface (`NODE-underlay.pcap`, what tcpdump on eth0 shows), each VTEP's inner side
/// (`NODE-vtep.pcap`, tcpdump on flannel.1), each pod's interface (`pod-NAME.pcap`), and `drops.pcap`:
/// every frame dropped anywhere (a firewall, a full queue, an MTU, a VTEP refusing it), as it was at the
/// point of the drop.
final class CaptureSet {
    let directory: String
    let settings: CaptureSettings
    private var underlay: [PcapWriter?]
    private var vtep: [PcapWriter?]
    private var pods: [String: PcapWriter] = [:]
    private var drops: PcapWriter?
    /// Every file, in the order opened, for closing.
    private var all: [PcapWriter] = []
    /// Smaller stdio buffers when a scenario opens many files at once.
    private let bufferSize: Int
    /// Captures carry the simulation's virtual time from this epoch (2026-01-01T00:00:00Z), so files are
    /// the same on every run and tools show plausible dates.
    static let epochNanoseconds: UInt64 = 1_767_225_600 * 1_000_000_000

    init(directory: String, settings: CaptureSettings, nodeNames: [String], podCount: Int) throws(CaptureError) {
        self.directory = directory
        self.settings = settings
        let files = (settings.underlay ? nodeNames.count : 0) + (settings.vtep ? nodeNames.count : 0)
            + (settings.pods ? podCount : 0)
        bufferSize = files > 64 ? 64 * 1024 : PcapWriter.defaultBufferSize
        underlay = Array(repeating: nil, count: nodeNames.count)
        vtep = Array(repeating: nil, count: nodeNames.count)
        for (index, name) in nodeNames.enumerated() {
            if settings.underlay { underlay[index] = try open("\(name)-underlay.pcap") }
            if settings.vtep { vtep[index] = try open("\(name)-vtep.pcap") }
        }
        if settings.drops { drops = try open("drops.pcap") }
    }

    private func open(_ file: String) throws(CaptureError) -> PcapWriter {
        let writer = try PcapWriter(path: directory + "/" + file, bufferSize: bufferSize)
        all.append(writer)
        return writer
    }

    @inline(__always)
    func underlay(_ node: Int, _ bytes: UnsafeRawBufferPointer, at time: Nanoseconds) throws(CaptureError) {
        try underlay[node]?.write(bytes, timestampNanoseconds: Self.epochNanoseconds + time)
    }

    @inline(__always)
    func vtep(_ node: Int, _ bytes: UnsafeRawBufferPointer, at time: Nanoseconds) throws(CaptureError) {
        try vtep[node]?.write(bytes, timestampNanoseconds: Self.epochNanoseconds + time)
    }

    /// A frame a firewall dropped.
    func drop(_ bytes: UnsafeRawBufferPointer, at time: Nanoseconds) throws(CaptureError) {
        try drops?.write(bytes, timestampNanoseconds: Self.epochNanoseconds + time)
    }

    func pod(_ name: String, _ bytes: UnsafeRawBufferPointer, at time: Nanoseconds) throws(CaptureError) {
        guard settings.pods else { return }
        if let writer = pods[name] {
            try writer.write(bytes, timestampNanoseconds: Self.epochNanoseconds + time)
        } else {
            // A manifest pod is named namespace/name: the file is pod-namespace_name.pcap.
            let writer = try open("pod-\(name.replacingOccurrences(of: "/", with: "_")).pcap")
            pods[name] = writer
            try writer.write(bytes, timestampNanoseconds: Self.epochNanoseconds + time)
        }
    }

    var files: [String] { all.map { ($0.path as NSString).lastPathComponent }.sorted() }

    /// Closes every file; each lands under its final name only now.
    func close() throws(CaptureError) {
        var firstError: CaptureError?
        for writer in all {
            do { try writer.close() } catch { if firstError == nil { firstError = error } }
        }
        if let firstError { throw firstError }
    }

    /// Removes every partial file after a failed run.
    func abandon() { for writer in all { writer.abandon() } }
}
