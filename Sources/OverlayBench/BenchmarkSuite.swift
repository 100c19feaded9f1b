import Capture
import PacketWire
import VXLAN

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Packets per second and gigabits per second of inner-frame bytes (the outer headers are not
/// counted), as the C baseline reports them.
public struct Throughput: Hashable, Sendable {
    public var packetsPerSecond: Double
    public var gigabitsPerSecond: Double

    public init(packetsPerSecond: Double, gigabitsPerSecond: Double) {
        self.packetsPerSecond = packetsPerSecond
        self.gigabitsPerSecond = gigabitsPerSecond
    }

    /// `frames` frames of `frameLength` inner bytes processed in `seconds`.
    public init(frames: Int, frameLength: Int, seconds: Double) {
        packetsPerSecond = Double(frames) / seconds
        gigabitsPerSecond = packetsPerSecond * Double(frameLength) * 8 / 1e9
    }
}

/// One named measurement of `overlay-sim bench`.
public struct BenchmarkResult: Hashable, Sendable {
    /// The JSON key: `encap64`, `encap1400`, `decap64`, `decap1400`, `pcapWrite64`, `encap64Checksum`.
    public var name: String
    /// What was measured, for the human table.
    public var summary: String
    public var throughput: Throughput

    public init(name: String, summary: String, throughput: Throughput) {
        self.name = name
        self.summary = summary
        self.throughput = throughput
    }
}

/// The in-process measurements of `overlay-sim bench`: single core, frames generated in memory
/// beforehand, one untimed warm-up pass and then the fastest of `passes` timed passes of `frames`
/// frames each — the C baseline's method, so the two are comparable.
public struct BenchmarkSuite: Sendable {
    /// The measurements in the order they run and are reported.
    public static let measurementNames = ["encap64", "encap1400", "decap64", "decap1400", "pcapWrite64",
                                          "encap64Checksum"]

    /// Frames per timed pass.
    public var frames: Int
    /// Timed passes per measurement; the fastest is reported.
    public var passes: Int
    /// Where the pcap measurement writes its file (deleted afterwards).
    public var pcapDirectory: String
    /// The measurements to run, from ``measurementNames``; all when empty.
    public var only: Set<String> = []

    public static let defaultFrames = 4_000_000
    public static let defaultPasses = 5

    public init(frames: Int = BenchmarkSuite.defaultFrames, passes: Int = BenchmarkSuite.defaultPasses,
                pcapDirectory: String = BenchmarkSuite.temporaryDirectory, only: Set<String> = []) {
        precondition(frames > 0 && passes > 0, "frames and passes must be positive")
        self.frames = frames
        self.passes = passes
        self.pcapDirectory = pcapDirectory
        self.only = only
    }

    /// `$TMPDIR`, or `/tmp`.
    public static var temporaryDirectory: String {
        if let value = getenv("TMPDIR"), value.pointee != 0 { return String(cString: value) }
        return "/tmp"
    }

    /// Runs every measurement, calling `report` as each one finishes.
    ///
    /// - Throws: ``CaptureError`` when the pcap file cannot be written; ``BenchmarkFailure`` when a kernel
    ///   refuses frames it must accept (which would make its figure meaningless).
    public func run(report: (BenchmarkResult) -> Void = { _ in }) throws -> [BenchmarkResult] {
        let small = BenchmarkFrames.smallFrameLength, large = BenchmarkFrames.largeFrameLength
        let smallInner = BenchmarkFrames.innerPool(frameLength: small)
        let largeInner = BenchmarkFrames.innerPool(frameLength: large)
        let smallOuter = BenchmarkFrames.encapsulatedPool(frameLength: small)
        let largeOuter = BenchmarkFrames.encapsulatedPool(frameLength: large)
        let frames = self.frames
        var results: [BenchmarkResult] = []
        func record(_ name: String, _ summary: String, frameLength: Int, seconds: Double) {
            let result = BenchmarkResult(name: name, summary: summary,
                                         throughput: Throughput(frames: frames, frameLength: frameLength, seconds: seconds))
            results.append(result)
            report(result)
        }

        for (name, pool, length) in [("encap64", smallInner, small), ("encap1400", largeInner, large)]
            where selected(name) {
            var endpoint = TunnelEndpoint(configuration: BenchmarkFrames.tunnel())
            let seconds = try fastestPass { () throws(BenchmarkFailure) in
                let bytes = Kernels.encapsulate(pool, endpoint: &endpoint, count: frames)
                guard bytes == frames * (length + 50) else { throw BenchmarkFailure(name, "encapsulation refused frames") }
            }
            record(name, "encapsulate \(length)-byte inner frames, IPv4 underlay, noudpcsum", frameLength: length,
                   seconds: seconds)
        }
        for (name, pool, length) in [("decap64", smallOuter, small), ("decap1400", largeOuter, large)]
            where selected(name) {
            let endpoint = TunnelEndpoint(configuration: BenchmarkFrames.tunnel())
            let seconds = try fastestPass { () throws(BenchmarkFailure) in
                guard Kernels.decapsulate(pool, endpoint: endpoint, count: frames) == frames else {
                    throw BenchmarkFailure(name, "decapsulation refused frames")
                }
            }
            record(name, "decapsulate \(length)-byte inner frames (all outer checks)", frameLength: length,
                   seconds: seconds)
        }
        if selected("pcapWrite64") {
            let path = pcapDirectory + "/overlay-sim-bench-\(getpid()).pcap"
            defer { unlink(path) }
            // Each pass writes a new file: the last pass's is deleted first, untimed. Replacing it instead
            // would measure ext4's replace-via-rename rule (`auto_da_alloc`), which starts writing the
            // whole new file back to disk at the rename, so the next pass competes with that I/O (the
            // C loop's truncate-in-place discards the old pages instead). See docs/performance.md.
            let seconds = try fastestPass(prepare: { unlink(path) }) { () throws(CaptureError) in
                // Opening and closing the file are timed, as in the C baseline.
                let writer = try PcapWriter(path: path)
                _ = try Kernels.writePcap(smallOuter, to: writer, count: frames)
                try writer.close()
            }
            record("pcapWrite64", "PcapWriter: \(small + 50)-byte encapsulated frames to \(pcapDirectory)",
                   frameLength: small, seconds: seconds)
        }
        if selected("encap64Checksum") {
            var endpoint = TunnelEndpoint(configuration: BenchmarkFrames.tunnel(udpChecksum: true))
            let seconds = try fastestPass { () throws(BenchmarkFailure) in
                let bytes = Kernels.encapsulate(smallInner, endpoint: &endpoint, count: frames)
                guard bytes == frames * (small + 50) else {
                    throw BenchmarkFailure("encap64Checksum", "encapsulation refused frames")
                }
            }
            record("encap64Checksum", "encapsulate 64-byte inner frames with the outer UDP checksum",
                   frameLength: small, seconds: seconds)
        }
        return results
    }

    func selected(_ name: String) -> Bool { only.isEmpty || only.contains(name) }

    /// Runs `pass` once untimed, then `passes` times timed, and returns the fastest time in seconds;
    /// `prepare` runs, untimed, before each.
    func fastestPass<Failure: Error>(prepare: () -> Void = {},
                                     _ pass: () throws(Failure) -> Void) throws(Failure) -> Double {
        prepare()
        try pass()
        var best = Double.infinity
        for _ in 0..<passes {
            prepare()
            let start = Self.monotonicSeconds()
            try pass()
            best = min(best, Self.monotonicSeconds() - start)
        }
        return best
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }
}

/// A kernel refused frames it must accept, so its figure would measure the wrong work.
public struct BenchmarkFailure: Error, CustomStringConvertible {
    public var measurement: String
    public var reason: String

    public init(_ measurement: String, _ reason: String) {
        self.measurement = measurement
        self.reason = reason
    }

    public var description: String { "\(measurement): \(reason)" }
}

/// Renders results as `overlay-sim bench` prints them.
public enum BenchmarkReport {
    /// One JSON object, keys in ``BenchmarkSuite/measurementNames`` order:
    /// `{"encap64":{"packetsPerSecond":45922338,"gigabitsPerSecond":23.5120},...}`.
    public static func json(_ results: [BenchmarkResult]) -> String {
        let members = results.map { result in
            "\"\(result.name)\":{\"packetsPerSecond\":\(fixed(result.throughput.packetsPerSecond, decimals: 0)),"
                + "\"gigabitsPerSecond\":\(fixed(result.throughput.gigabitsPerSecond, decimals: 4))}"
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// The table header, then ``tableRow(_:)`` for each result.
    public static let tableHeader = pad("measurement", 16) + pad("Mpps", 10, right: true) + pad("Gbit/s", 10, right: true)
        + "  what"

    public static func tableRow(_ result: BenchmarkResult) -> String {
        pad(result.name, 16) + pad(fixed(result.throughput.packetsPerSecond / 1e6, decimals: 2), 10, right: true)
            + pad(fixed(result.throughput.gigabitsPerSecond, decimals: 2), 10, right: true) + "  " + result.summary
    }

    /// `value` with `decimals` digits after the point, without Foundation.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        var text = (value < 0 && units != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let fraction = String(units % UInt64(scale))
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
