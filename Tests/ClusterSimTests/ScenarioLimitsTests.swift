import ClusterSim
import Foundation
import PacketWire
import Testing
@testable import ClusterSim

/// The reproducers of issue 16: values that trapped, names that collided or escaped the capture folder,
/// and YAML errors that echoed the whole file. Each is refused at its line and column, or runs.
@Suite("Scenario values are range-checked where they are written")
struct ScenarioLimitsTests {
    static let nodes = """
    name: t
    cluster:
      nodes:
        - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
        - {name: b, address: 10.0.0.2, podCIDR: 10.244.1.0/24}

    """
    static let pods = """
    workloads:
      - {kind: Pod, name: p, node: a}
      - {kind: Pod, name: q, node: b}

    """

    func error(_ yaml: String) -> String {
        do {
            _ = try ScenarioParser.parse(yaml: yaml, file: "s.yaml")
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test("a name used twice among nodes, routers and switches is refused at the second use", arguments: [
        ("underlay: {routers: [a]}\n", "s.yaml:6:22: 'a' is already the name of a node (at s.yaml:4:7)"),
        ("underlay:\n  routers: [tor, tor]\n", "s.yaml:7:18: 'tor' is already the name of a router (at s.yaml:7:13)"),
        ("underlay:\n  routers: [x]\n  switches: [x]\n", "s.yaml:8:14: 'x' is already the name of a router (at s.yaml:7:13)"),
    ])
    func duplicatePlaces(underlay: String, expected: String) {
        #expect(error(Self.nodes + underlay).hasPrefix(expected), "\(error(Self.nodes + underlay))")
    }

    @Test("a node named twice is refused at the second")
    func duplicateNode() {
        let yaml = "name: t\ncluster:\n  nodes:\n    - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}\n    - {name: a, address: 10.0.0.2, podCIDR: 10.244.1.0/24}\n"
        #expect(error(yaml).hasPrefix("s.yaml:5:7: 'a' is already the name of a node (at s.yaml:4:7)"), "\(error(yaml))")
    }

    @Test("a link slower than 1 bit/s, or faster than 1 Pbit/s, is refused", arguments: [
        ("0.5bps", "is below 1 bit per second"), ("0bps", "is below 1 bit per second"), ("-3Gbps", "is below 1 bit per second"),
        ("2e15bps", "is above 1 Pbit per second"), ("1e400Gbps", "is not a rate such as 10Gbps"),
    ])
    func bandwidth(text: String, expected: String) {
        let yaml = Self.nodes + "underlay: {links: [{between: [a, b], bandwidth: \(text)}]}\n"
        #expect(error(yaml).hasPrefix("s.yaml:6:49: bandwidth '\(text)' \(expected)"), "\(error(yaml))")
    }

    @Test("rates too low to send within the run, or above one a nanosecond, are refused", arguments: [
        "1e-10/s", "1e-11/s", "'1e-300'", "0/s", "-1/s", "1e10/s", "nan/s", "inf",
    ])
    func rate(text: String) {
        let yaml = Self.nodes + Self.pods + "traffic: [{from: p, to: q, protocol: udp, count: 3, rate: \(text)}]\n"
        let message = error(yaml)
        #expect(message.hasPrefix("s.yaml:9:59: rate '\(text.replacingOccurrences(of: "'", with: ""))'"), "\(message)")
    }

    @Test("durations beyond 10 years, and negative ones, are refused", arguments: [
        ("underlay: {links: [{between: [a, b], latency: 9000000000s}]}\n", "s.yaml:6:47: latency '9000000000s' is longer than"),
        (pods + "traffic: [{from: p, to: q, protocol: udp, start: 9999999999s}]\n", "s.yaml:9:50: start '9999999999s' is longer than"),
        ("underlay: {links: [{between: [a, b], latency: -1ms}]}\n", "s.yaml:6:47: latency '-1ms' is negative"),
    ])
    func durations(section: String, expected: String) {
        #expect(error(Self.nodes + section).hasPrefix(expected), "\(error(Self.nodes + section))")
    }

    @Test("a flow that would send for longer than 10 years is refused")
    func longFlow() {
        let yaml = Self.nodes + Self.pods + "traffic: [{name: slow, from: p, to: q, protocol: udp, count: 1000000000, rate: 1/s}]\n"
        #expect(error(yaml).hasPrefix("s.yaml:9:11: flow 'slow' sends 1000000000 packets"), "\(error(yaml))")
    }

    @Test("UDP and ICMP payloads are limited to what an IPv4 datagram holds", arguments: ["udp", "icmp"])
    func datagramSize(proto: String) throws {
        let big = Self.nodes + Self.pods + "traffic: [{from: p, to: q, protocol: \(proto), size: 65508}]\n"
        #expect(error(big).contains("size (payload bytes of one datagram) 65508 is out of range 0...65507"), "\(error(big))")
        let largest = Self.nodes + Self.pods + "traffic: [{from: p, to: q, protocol: \(proto), size: 65507}]\n"
        #expect(error(largest) == "no error")
    }

    @Test("duplicate flow names are refused at the second")
    func duplicateFlows() {
        let yaml = Self.nodes + Self.pods + "traffic:\n  - {name: f, from: p, to: q, protocol: udp}\n  - {name: f, from: q, to: p, protocol: udp}\n"
        #expect(error(yaml).hasPrefix("s.yaml:11:5: flow 'f' is defined twice (first at s.yaml:10:5)"), "\(error(yaml))")
    }

    @Test("a pod name two workloads would create is refused")
    func duplicatePods() {
        let yaml = Self.nodes + "workloads:\n  - {kind: Pod, name: db-0, node: a}\n  - {kind: StatefulSet, name: db, replicas: 1}\n"
        #expect(error(yaml).hasPrefix("s.yaml:8:5: statefulset 'db' would create pod 'db-0', which pod 'db-0'"), "\(error(yaml))")
    }

    @Test("a duplicate YAML key is reported at the second key, quoting only its line", arguments: [
        ("name: t\nseed: 1\nseed: 2\n", "s.yaml:3:1: key 'seed' appears twice in one mapping (first at line 2): `seed: 2`"),
        ("name: t\ncluster:\n  nodes:\n    - {name: a, name: b}\n", "s.yaml:4:17: key 'name' appears twice in one mapping (first at line 4): `- {name: a, name: b}`"),
    ])
    func duplicateKey(yaml: String, expected: String) {
        let padding = String(repeating: "# a long file\n", count: 2000)
        let message = error(yaml + padding)
        #expect(message == expected, "\(message.prefix(300))")
    }

    @Test("the nesting-limit message says what it means, without a stray parenthesis")
    func nesting() {
        let message = error("a: " + String(repeating: "[", count: 2000))
        #expect(message == "s.yaml:1:5: invalid YAML: lists and mappings nest deeper than 1000 levels, the most libyaml reads", "\(message)")
    }

    @Test("a scenario over 64 MiB is refused before parsing")
    func tooLarge() {
        let message = error(String(repeating: "#", count: ScenarioParser.maximumBytes + 1))
        #expect(message.hasPrefix("s.yaml:1:1: the scenario is 67108865 bytes; the most read is 67108864"), "\(message)")
    }

    @Test("names become file names without '/', '..' or control characters, and Kubernetes names stay as they are", arguments: [
        ("../outside", "___outside"), ("a/b", "a_b"), ("..", "__"), (".hidden", "_hidden"), ("a\u{7}b", "a_b"),
        ("web-ed02afd-4lchz", "web-ed02afd-4lchz"), ("node-1.example", "node-1.example"), ("a..b", "a._b"), ("", "_"),
    ])
    func fileNames(name: String, expected: String) {
        #expect(CaptureSet.fileName(for: name) == expected)
    }

    @Test("a node named ../outside writes its captures inside the folder")
    func namesAreNotPaths() throws {
        let yaml = """
        name: escape
        cluster:
          nodes:
            - {name: ../outside, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
            - {name: "b/../../c", address: 10.0.0.2, podCIDR: 10.244.1.0/24}
        workloads:
          - {kind: Pod, name: p, node: ../outside}
          - {kind: Pod, name: "../q", node: "b/../../c"}
        traffic: [{from: p, to: ../q, protocol: icmp, count: 2}]
        """
        let parent = try temporaryFolder("escape")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let folder = parent + "/inner/out"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let report = try Simulation(scenario: try ScenarioParser.parse(yaml: yaml, file: "e.yaml")).run(captureDirectory: folder)
        #expect(report.flows.first?.packetsDelivered == 2)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files == ["___outside-underlay.pcap", "___outside-vtep.pcap", "b_.__.__c-underlay.pcap", "b_.__.__c-vtep.pcap",
                          "drops.pcap", "drops.pcapng", "pod-___q.pcap", "pod-p.pcap"].sorted(), "\(files)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["inner"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent + "/inner") == ["out"])
    }
}

/// The latency histogram keeps only the buckets it uses, and gives the values the full array gave.
@Suite("Latency histogram")
struct LatencyHistogramTests {
    /// The histogram as it was: all 1,024 buckets.
    struct FullHistogram {
        var buckets = [UInt64](repeating: 0, count: 64 * 16)
        var count: UInt64 = 0, minimum: UInt64 = .max, maximum: UInt64 = 0
        mutating func record(_ value: UInt64) {
            count += 1; minimum = min(minimum, value); maximum = max(maximum, value)
            buckets[LatencyHistogram.bucket(value)] += 1
        }
        var median: UInt64? {
            guard count > 0 else { return nil }
            var seen: UInt64 = 0
            for (index, inBucket) in buckets.enumerated() where inBucket > 0 {
                seen += inBucket
                if seen >= (count + 1) / 2 {
                    return min(max((LatencyHistogram.lowerBound(index) + LatencyHistogram.lowerBound(index + 1)) / 2, minimum), maximum)
                }
            }
            return maximum
        }
    }

    @Test("medians equal the full array's over random samples, in any order of growth", arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func sameMedians(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var sparse = LatencyHistogram(), full = FullHistogram()
        for round in 0..<2_000 {
            let scale = UInt64(1) << (random.next() % 40)
            let value = random.next() % scale
            sparse.record(value); full.record(value)
            if round % 97 == 0 { #expect(sparse.median == full.median) }
        }
        #expect(sparse.median == full.median && sparse.minimum == full.minimum && sparse.maximum == full.maximum)
    }

    @Test("an unused histogram holds no buckets, a typical flow's a few hundred bytes")
    func memory() {
        var histogram = LatencyHistogram()
        #expect(histogram.bucketBytes == 0)
        for value in stride(from: UInt64(200_000), to: 500_000, by: 997) { histogram.record(value) }
        #expect(histogram.bucketBytes <= 512, "\(histogram.bucketBytes) bytes")
    }
}
