import Capture
import Foundation
import OverlayBench
import PacketWire
import Testing
import VXLAN

/// What `overlay-sim bench` measures is the right work: the C baseline's frames, every frame accepted,
/// buffers left as they were found, and the JSON keys users script against. (No timing is asserted.)
@Suite("Benchmark frames, kernels and report")
struct OverlayBenchTests {
    @Test("inner frames are the C baseline's: addresses, ports 10000 + i mod 1024, ID i, DF, valid checksums",
          arguments: [64, 1400])
    func innerFrames(length: Int) throws {
        for index in [0, 1, 1023, 1024, 4095] {
            let bytes = BenchmarkFrames.innerFrame(index: index, length: length)
            #expect(bytes.count == length)
            try bytes.withWireBytes { raw throws(DecodeError) in
                let ethernet = try EthernetFrame(checking: raw)
                #expect(ethernet.source == BenchmarkFrames.innerSourceMAC)
                #expect(ethernet.destination == BenchmarkFrames.innerDestinationMAC)
                let packet = try IPv4Packet(checking: ethernet.payload)
                let ip = try IPv4Header(packet)
                #expect(ip.source == IPv4Address(10, 244, 0, 5) && ip.destination == IPv4Address(10, 244, 1, 7))
                #expect(ip.identification == UInt16(index) && ip.dontFragment && ip.timeToLive == 64)
                let udp = try UDPHeader(UDPDatagram(checking: packet.payload),
                                        verifyingWith: .ipv4(source: ip.source, destination: ip.destination))
                #expect(udp.sourcePort == UInt16(10000 + index % 1024) && udp.destinationPort == 8080)
                #expect(raw[42] == UInt8(truncatingIfNeeded: index + 8), "payload byte k of the UDP datagram is i + k")
            }
        }
    }

    @Test("encapsulation accepts every frame and leaves each buffer holding its inner frame again")
    func encapsulationKernel() throws {
        let pool = BenchmarkFrames.innerPool(frameLength: 64, count: 8)
        let before = pool.buffers.map(\.bytes)
        var endpoint = TunnelEndpoint(configuration: BenchmarkFrames.tunnel())
        #expect(Kernels.encapsulate(pool, endpoint: &endpoint, count: 20, startingAt: 5) == 20 * (64 + 50))
        #expect(pool.buffers.map(\.bytes) == before)
        #expect(pool.buffers.allSatisfy { $0.headroom == BenchmarkFrames.headroom })
        #expect(endpoint.nextIdentification == 20)
    }

    @Test("decapsulation accepts every encapsulated frame and leaves each buffer holding it again")
    func decapsulationKernel() throws {
        for udpChecksum in [false, true] {
            let pool = BenchmarkFrames.encapsulatedPool(frameLength: 1400, count: 8, udpChecksum: udpChecksum)
            let before = pool.buffers.map(\.bytes)
            let endpoint = TunnelEndpoint(configuration: BenchmarkFrames.tunnel())
            #expect(Kernels.decapsulate(pool, endpoint: endpoint, count: 20) == 20)
            #expect(pool.buffers.map(\.bytes) == before)
        }
    }

    @Test("decode, checksum and flow hash kernels see every frame")
    func otherKernels() throws {
        let outer = BenchmarkFrames.encapsulatedPool(frameLength: 64, count: 4, udpChecksum: true)
        #expect(Kernels.decode(outer, count: 10) == 10)
        let inner = BenchmarkFrames.innerPool(frameLength: 64, count: 4)
        let checksums = inner.buffers.map { Int(InternetChecksum.checksum($0.readableBytes)) }
        #expect(Kernels.checksum(inner, count: 6) == checksums.reduce(0, +) + checksums[0] + checksums[1])
        let configuration = BenchmarkFrames.tunnel()
        let ports = inner.buffers.map { buffer in
            Int(FlowHash.sourcePort(hash: FlowHash.hash(innerFrame: buffer.readableBytes, seed: configuration.flowHashSeed),
                                    range: configuration.sourcePortRange))
        }
        #expect(Kernels.flowHash(inner, configuration: configuration, count: 4) == ports.reduce(0, +))
        #expect(Set(ports).count == 4, "distinct flows, distinct source ports")
    }

    @Test("the pcap kernel writes every frame, readable back")
    func pcapKernel() throws {
        let pool = BenchmarkFrames.encapsulatedPool(frameLength: 64, count: 4)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("overlay-bench-\(UUID()).pcap").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try PcapWriter(path: path)
        #expect(try Kernels.writePcap(pool, to: writer, count: 9) == 9)
        try writer.close()
        let frames = try PcapReader(path: path).readAll()
        #expect(frames.count == 9)
        #expect(frames[5].bytes == pool.buffers[1].bytes)
    }

    @Test("JSON has exactly the documented keys, each with packetsPerSecond and gigabitsPerSecond")
    func json() throws {
        let results = BenchmarkSuite.measurementNames.enumerated().map { index, name in
            BenchmarkResult(name: name, summary: "",
                            throughput: Throughput(frames: 1_000_000, frameLength: 64, seconds: 0.5 + Double(index)))
        }
        let text = BenchmarkReport.json(results)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: Double]])
        #expect(Set(object.keys) == ["encap64", "encap1400", "decap64", "decap1400", "pcapWrite64", "encap64Checksum"])
        #expect(object["encap64"] == ["packetsPerSecond": 2_000_000, "gigabitsPerSecond": 1.024])
        #expect(text.hasPrefix(#"{"encap64":{"packetsPerSecond":2000000,"gigabitsPerSecond":1.0240}"#))
    }

    @Test("numbers print without Foundation", arguments: [
        (0.0, 0, "0"), (2.5, 0, "3"), (1.024, 4, "1.0240"), (12.34567, 2, "12.35"), (0.05, 2, "0.05"), (-1.5, 1, "-1.5"),
    ])
    func fixed(value: Double, decimals: Int, expected: String) {
        #expect(BenchmarkReport.fixed(value, decimals: decimals) == expected)
    }

    @Test("a small run reports every measurement, in order")
    func smallRun() throws {
        let results = try BenchmarkSuite(frames: 10_000, passes: 1,
                                         pcapDirectory: FileManager.default.temporaryDirectory.path).run()
        #expect(results.map(\.name) == BenchmarkSuite.measurementNames)
        #expect(results.allSatisfy { $0.throughput.packetsPerSecond > 0 && $0.throughput.gigabitsPerSecond > 0 })
        let only = try BenchmarkSuite(frames: 1_000, passes: 1, only: ["decap1400"]).run()
        #expect(only.map(\.name) == ["decap1400"])
    }
}
