import ArgumentParser
import OverlayBench

/// `overlay-sim bench`: in-process throughput of encapsulation, decapsulation and pcap writing.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure encapsulation, decapsulation and pcap writing throughput on one core.",
        discussion: """
            Frames are generated in memory first (64- and 1400-byte inner Ethernet/IPv4/UDP frames in 4096 \
            buffers with 128 bytes of headroom, used cyclically); each measurement runs one warm-up pass and \
            reports the fastest of --passes timed passes. IPv4 underlay, VNI 42, port 4789, outer UDP checksum \
            off (noudpcsum), except encap64Checksum. Gbit/s counts inner-frame bytes. Build with -c release: \
            debug builds are many times slower. Benchmarks/compare.sh runs this beside the C baseline.
            """
    )

    @Flag(help: "Print one JSON object: each measurement with packetsPerSecond and gigabitsPerSecond.")
    var json = false

    @Option(help: "Frames per timed pass.")
    var frames = BenchmarkSuite.defaultFrames

    @Option(help: "Timed passes per measurement; the fastest is reported.")
    var passes = BenchmarkSuite.defaultPasses

    @Option(help: ArgumentHelp("Run only this measurement (repeatable).", valueName: "name"))
    var only: [String] = []

    func validate() throws {
        for name in only where !BenchmarkSuite.measurementNames.contains(name) {
            throw ValidationError("unknown measurement '\(name)'; choose from "
                                  + BenchmarkSuite.measurementNames.joined(separator: ", "))
        }
        guard frames > 0 else { throw ValidationError("--frames must be positive, got \(frames)") }
        guard passes > 0 else { throw ValidationError("--passes must be positive, got \(passes)") }
    }

    func run() throws {
        let suite = BenchmarkSuite(frames: frames, passes: passes, only: Set(only))
        if !json {
            print("\(frames) frames per pass, best of \(passes) after a warm-up, one core")
            print(BenchmarkReport.tableHeader)
        }
        let results = try suite.run { result in
            if !json { print(BenchmarkReport.tableRow(result)) }
        }
        if json { print(BenchmarkReport.json(results)) }
    }
}
