// overlay-sim's hot paths under package-benchmark: throughput and mallocs for 64- and 1400-byte inner
// frames, on the frames and tunnel of `overlay-sim bench` and the C baseline (OverlayBench.BenchmarkFrames).
//
// Each benchmark iteration processes 1,000 frames (scaling factor kilo), continuing through a pool of
// 4,096 buffers; package-benchmark divides the metrics marked `*` (time, mallocs) by the 1,000, so they
// read per frame, and throughput in frames per second.
// Encapsulate, Decapsulate and Decode (PacketWire's views and values) must allocate nothing: Thresholds/ holds their static p90
// threshold of 0 mallocs, which `swift package benchmark thresholds check` enforces.
//
// End to end, `Run ...` simulates whole scenarios (no captures, so the disk does not dominate): the built-in
// default, and the 100-node, 5,000-pod scenario of Scenarios/large-100-nodes.yaml cut to 100,000 packets
// so an iteration stays near half a second (`overlay-sim run large-100-nodes` sends the full 1,000,000).

import Benchmark
import Capture
import ClusterSim
import Foundation
import OverlayBench
import PacketWire
import VXLAN

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frames per benchmark iteration.
private let framesPerIteration = 1_000

/// Where each benchmark continues in its pool, so successive iterations touch all 4,096 buffers as the
/// C baseline's loop does.
private final class Cursor {
    var next = 0

    func advance() -> Int {
        defer { next &+= framesPerIteration }
        return next
    }
}

/// A pcap file written for one benchmark run and deleted after it.
private final class PcapSink {
    let path: String
    var writer: PcapWriter?

    init(_ name: String) {
        path = BenchmarkSuite.temporaryDirectory + "/overlay-benchmarks-\(getpid())-\(name).pcap"
    }

    func open() throws { writer = try PcapWriter(path: path) }

    func close() throws {
        try writer?.close()
        writer = nil
        unlink(path)
    }
}

/// The repository's Scenarios/ folder, found from this file.
private let scenariosFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Scenarios").path

let benchmarks: @Sendable () -> Void = {
    let allocationFree: [BenchmarkMetric: BenchmarkThresholds] = [
        .mallocCountTotal: BenchmarkThresholds(absolute: [.p90: 0]),
    ]
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 10_000
    )

    for length in [BenchmarkFrames.smallFrameLength, BenchmarkFrames.largeFrameLength] {
        let inner = BenchmarkFrames.innerPool(frameLength: length)
        let outer = BenchmarkFrames.encapsulatedPool(frameLength: length)
        let configuration = BenchmarkFrames.tunnel()

        let encapsulation = Cursor()
        var encapsulator = TunnelEndpoint(configuration: configuration)
        Benchmark("Encapsulate \(length)B", configuration: .init(thresholds: allocationFree)) { _ in
            blackHole(Kernels.encapsulate(inner, endpoint: &encapsulator, count: framesPerIteration,
                                          startingAt: encapsulation.advance()))
        }

        let decapsulation = Cursor()
        let decapsulator = TunnelEndpoint(configuration: configuration)
        Benchmark("Decapsulate \(length)B", configuration: .init(thresholds: allocationFree)) { _ in
            blackHole(Kernels.decapsulate(outer, endpoint: decapsulator, count: framesPerIteration,
                                          startingAt: decapsulation.advance()))
        }

        let decoding = Cursor()
        Benchmark("Decode \(length)B", configuration: .init(thresholds: allocationFree)) { _ in
            blackHole(Kernels.decode(outer, count: framesPerIteration, startingAt: decoding.advance()))
        }

        // What `overlay-sim decode` does per frame (Capture.FrameDecoder, building the DecodedFrame its JSON
        // comes from): reported, not held to 0 mallocs, since its result holds strings.
        let frameDecoding = Cursor()
        var frameDecoder = FrameDecoder()
        Benchmark("FrameDecoder \(length)B") { _ in
            let first = frameDecoding.advance()
            var decoded = 0
            outer.forEachFrame(framesPerIteration, startingAt: first) { buffer in
                decoded &+= frameDecoder.decode(buffer.readableBytes, number: 1, timestampNanoseconds: 0).error == nil ? 1 : 0
            }
            blackHole(decoded)
        }

        let summing = Cursor()
        Benchmark("Checksum \(length)B") { _ in
            blackHole(Kernels.checksum(inner, count: framesPerIteration, startingAt: summing.advance()))
        }

        let hashing = Cursor()
        Benchmark("Flow hash \(length)B") { _ in
            blackHole(Kernels.flowHash(inner, configuration: configuration, count: framesPerIteration,
                                       startingAt: hashing.advance()))
        }

        // One file per run, opened and closed outside the measurement; bounded so a run writes at most
        // a few hundred megabytes to the temporary folder.
        let sink = PcapSink("\(length)")
        let writing = Cursor()
        Benchmark("Pcap write \(length)B",
                  configuration: .init(maxIterations: length > 100 ? 200 : 2_000,
                                       setup: { try sink.open() }, teardown: { try sink.close() })) { _ in
            guard let writer = sink.writer else { return }
            blackHole(try? Kernels.writePcap(outer, to: writer, count: framesPerIteration,
                                             startingAt: writing.advance()))
        }
    }

    let wholeRun = Benchmark.Configuration(metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal],
                                           warmupIterations: 1, scalingFactor: .one,
                                           maxDuration: .seconds(10), maxIterations: 20)
    if let scenario = try? ScenarioParser.parse(yaml: Scenario.defaultYAML, file: "<built-in default>") {
        Benchmark("Run default scenario", configuration: wholeRun) { _ in
            blackHole(try Simulation(scenario: scenario).run(captureDirectory: nil))
        }
    }
    let largePath = scenariosFolder + "/large-100-nodes.yaml"
    if let text = try? String(contentsOfFile: largePath, encoding: .utf8),
       var scenario = try? ScenarioParser.parse(yaml: text, file: largePath) {
        scenario.traffic[0].count = 1_000
        Benchmark("Run 100 nodes, 5000 pods, 100k packets", configuration: wholeRun) { _ in
            blackHole(try Simulation(scenario: scenario).run(captureDirectory: nil))
        }
    }
}
