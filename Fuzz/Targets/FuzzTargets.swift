import Capture
import ClusterSim
import Foundation
import Kubernetes
import PacketWire
@_spi(FastPath) import VXLAN

/// What each fuzz target does with one input, shared by the libFuzzer drivers in `Fuzz/` and by the
/// regression tests that replay `Fuzz/Regressions/` and the seed corpora in a normal `swift test`.
///
/// Each check returns nil when the input was handled as the code promises (decoded, refused with an
/// error, parsed or refused with `file:line:column`), and a sentence when a promise was broken (the fast
/// path disagreed with the layered path, an error had no location). A trap inside the code under test is
/// a crash either way: libFuzzer keeps the input, a test run fails.
public enum FuzzTargets {
    /// The targets by the name `make fuzz` and the regression folders use.
    public static let all: [(name: String, check: @Sendable (UnsafeRawBufferPointer) -> String?)] = [
        ("frame-decoder", frameDecoder),
        ("decapsulation", decapsulation),
        ("scenario-parser", scenarioParser),
        ("firewall-parser", firewallParser),
        ("manifest-reader", manifestReader),
    ]

    public static func check(named name: String) -> (@Sendable (UnsafeRawBufferPointer) -> String?)? {
        all.first { $0.name == name }?.check
    }

    // MARK: - Frame decoder

    /// The input is a sequence of frames, each preceded by its length in two bytes (big-endian; a
    /// length past the end takes what is left), fed in order to one decoder, so reassembly across
    /// frames is reached. Every decoded frame is also rendered as `decode --json` renders it.
    public static func frameDecoder(_ input: UnsafeRawBufferPointer) -> String? {
        var decoder = FrameDecoder()
        let encoder = JSONEncoder()
        var offset = 0, number = 1
        while offset + 2 <= input.count {
            let length = Int(input[offset]) << 8 | Int(input[offset + 1])
            let start = offset + 2, end = min(input.count, start + length)
            let decoded = decoder.decode(UnsafeRawBufferPointer(rebasing: input[start..<end]), number: number,
                                         timestampNanoseconds: UInt64(number) * 1_000_000)
            guard (try? encoder.encode(decoded)) != nil else { return "frame \(number) cannot be encoded as JSON" }
            if decoded.capturedLength != end - start { return "frame \(number): captured length \(decoded.capturedLength), given \(end - start)" }
            offset = end
            number += 1
        }
        return nil
    }

    // MARK: - Decapsulation

    /// The devices a frame is decapsulated by: the kernel captures' `ip -d link show` lines (Tests/
    /// TestFixtures/kernel/*.link.txt, the words after `vxlan` that TunnelConfiguration reads).
    public static let devices: [TunnelConfiguration] = [
        "id 1 local 192.0.2.1 srcport 0 0 dstport 8472 nolearning ttl auto udpcsum noudp6zerocsumtx noudp6zerocsumrx",
        "id 4096 local 192.0.2.1 srcport 0 0 dstport 4789 nolearning ttl auto udpcsum noudp6zerocsumtx noudp6zerocsumrx",
        "id 99 local 192.0.2.1 srcport 0 0 dstport 4789 nolearning tos inherit ttl 17 df set udpcsum noudp6zerocsumtx noudp6zerocsumrx",
        "id 42 local 192.0.2.1 srcport 0 0 dstport 4789 nolearning ttl auto udpcsum noudp6zerocsumtx noudp6zerocsumrx",
        "id 42 local 192.0.2.1 srcport 0 0 dstport 4789 nolearning ttl auto udpcsum noudp6zerocsumtx noudp6zerocsumrx gbp",
        "id 42 local 192.0.2.1 srcport 0 0 dstport 4789 nolearning ttl auto noudpcsum noudp6zerocsumtx noudp6zerocsumrx",
        "id 7 local 2001:db8:77::1 srcport 0 0 dstport 4789 nolearning ttl auto udpcsum noudp6zerocsumtx noudp6zerocsumrx",
        "id 7 local 2001:db8:77::1 srcport 0 0 dstport 4789 nolearning ttl auto udpcsum udp6zerocsumrx",
    ].compactMap { try? TunnelConfiguration(ipLinkArguments: $0.split(separator: " ").map(String.init)) }

    /// The first byte picks the device (low three bits) and whether it wants another VNI (bit 3); the
    /// rest is the frame. The fast path must accept exactly the untagged IPv4 frames the layered path
    /// accepts, with the same result and the same bytes left in the buffer, and leave a frame it
    /// refuses unchanged.
    public static func decapsulation(_ input: UnsafeRawBufferPointer) -> String? {
        guard let selector = input.first, !devices.isEmpty else { return nil }
        var device = devices[Int(selector & 0x07) % devices.count]
        if selector & 0x08 != 0 { device.vni ^= 1 }
        let frame = Array(input.dropFirst())
        let endpoint = TunnelEndpoint(configuration: device)
        let fastBuffer = PacketBuffer(copying: frame), layeredBuffer = PacketBuffer(copying: frame)
        let publicBuffer = PacketBuffer(copying: frame)
        let fast = endpoint.decapsulateFastPathOnly(fastBuffer)
        let layered = try? endpoint.decapsulateLayeredPathOnly(layeredBuffer)
        let viaPublic = try? endpoint.decapsulate(publicBuffer)
        if let fast {
            guard fast == layered else { return "the fast path accepted what the layered path refused or read differently" }
            guard fastBuffer.bytes == layeredBuffer.bytes else { return "the fast path left other bytes than the layered path" }
        } else {
            guard fastBuffer.bytes == frame else { return "the fast path changed a frame it refused" }
            let untaggedIPv4 = frame.count >= 14 && frame[12] == 0x08 && frame[13] == 0x00
            if layered != nil && untaggedIPv4 { return "the fast path refused an untagged IPv4 frame the layered path accepts" }
        }
        guard viaPublic == layered else { return "decapsulate(_:) and the layered path disagree" }
        if layered == nil && layeredBuffer.bytes != frame { return "the layered path changed a frame it refused" }
        return nil
    }

    // MARK: - Scenario parser

    /// Packets a fuzzed scenario may simulate: enough to reach every part of the dataplane, few enough
    /// that a run takes milliseconds.
    public static let packetBudget = 2_000
    /// Nodes, and pods, a fuzzed scenario may have and still be run.
    public static let largestRun = 64

    /// The input is a scenario file. One that parses is also built and run (no captures, at most
    /// ``packetBudget`` packets), which is where impossible values that slipped through would trap.
    public static func scenarioParser(_ input: UnsafeRawBufferPointer) -> String? {
        let text = String(decoding: input, as: UTF8.self)
        return parseAndRun(text, file: "fuzz.yaml")
    }

    static func parseAndRun(_ text: String, file: String) -> String? {
        let scenario: Scenario
        do {
            scenario = try ScenarioParser.parse(yaml: text, file: file)
        } catch {
            guard error.location.file == file, error.location.line >= 1, error.location.column >= 1 else {
                return "an error without a place in the file: \(error)"
            }
            guard !error.message.isEmpty, error.message.utf8.count < 4096 else {
                return "an error message of \(error.message.utf8.count) bytes (it must say what is wrong, not echo the file)"
            }
            return nil
        }
        // Building thousands of pods under the sanitizers takes seconds: large scenarios are parsed and
        // validated, and only small ones are also built and run.
        let pods = scenario.workloads.reduce(0) { total, workload in
            total + (workload.kind == .daemonSet ? scenario.nodes.count : workload.replicas)
        }
        guard scenario.nodes.count <= largestRun, pods <= largestRun else { return nil }
        do {
            let simulation = try Simulation(scenario: scenario)
            simulation.limits.maximumPackets = packetBudget
            _ = simulation.estimate(capturesEnabled: true)
            let report = try simulation.run(captureDirectory: nil)
            _ = report.json()
            _ = report.table()
        } catch let error as ScenarioError {
            return "a scenario that parsed was refused when built: \(error)"
        } catch {
            return "a run without captures failed: \(error)"
        }
        return nil
    }

    // MARK: - Firewall parser

    /// A cluster whose names are the ones the example scenarios' firewalls use (node-a, node-b, the
    /// routers edge, spine, core and wan-router), so a seed's `firewalls:` section is read in full.
    public static let firewallBase = """
    name: fuzz-firewalls
    cluster:
      nodes:
        - {name: node-a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
        - {name: node-b, address: 10.0.1.1, podCIDR: 10.244.1.0/24}
    underlay:
      routers: [edge, spine, core, wan-router]
      links:
        - {between: [node-a, edge]}
        - {between: [edge, node-b]}
        - {between: [node-a, spine]}
        - {between: [spine, node-b]}
        - {between: [node-a, core]}
        - {between: [core, node-b]}
        - {between: [node-a, wan-router]}
        - {between: [wan-router, node-b]}
        - {between: [node-a, node-b]}
    workloads:
      - {kind: Pod, name: client, node: node-a, labels: {app: client}}
      - {kind: Pod, name: server, node: node-b, labels: {app: server}}
    traffic:
      - {name: udp, from: client, to: server, protocol: udp, size: 1400, count: 5, rate: 1000/s, port: 8080}
      - {name: tcp, from: client, to: server, protocol: tcp, size: 3000, port: 8080}
      - {name: ping, from: server, to: client, protocol: icmp, count: 3}
    firewalls:

    """

    /// The input is the body of a `firewalls:` section (its list of devices), read after
    /// ``firewallBase``; one that parses is also run, so the devices it builds see real packets.
    public static func firewallParser(_ input: UnsafeRawBufferPointer) -> String? {
        parseAndRun(firewallBase + String(decoding: input, as: UTF8.self), file: "fuzz.yaml")
    }

    // MARK: - Manifest reader

    /// Pods (with their policies) the policy engine is built and asked about; a larger fuzzed cluster is
    /// only read.
    public static let largestPolicyCluster = 64

    /// The input is a file of Kubernetes YAML (several documents, `kind: List`). It is read, or refused
    /// with `file:line:column` and a short message; what is read is turned into the policy engine's cluster
    /// and, when small, every ordered pod pair is decided on TCP 80, where an impossible selector or
    /// port that slipped through would trap.
    public static func manifestReader(_ input: UnsafeRawBufferPointer) -> String? {
        let text = String(decoding: input, as: UTF8.self)
        let manifests: ManifestSet
        do {
            manifests = try ManifestReader.read(yaml: text, file: "fuzz.yaml")
        } catch {
            guard error.location.file == "fuzz.yaml", error.location.line >= 1, error.location.column >= 1 else {
                return "an error without a place in the file: \(error)"
            }
            guard !error.message.isEmpty, error.message.utf8.count < 4096 else {
                return "an error message of \(error.message.utf8.count) bytes (it must say what is wrong, not echo the file)"
            }
            return nil
        }
        let cluster = PolicyCluster(manifests: manifests)
        guard cluster.pods.count <= largestPolicyCluster, cluster.policies.count <= largestPolicyCluster else { return nil }
        let engine = PolicyEngine(cluster)
        for from in cluster.pods {
            for to in cluster.pods {
                guard let source = from.addresses.first, let destination = to.addresses.first else { continue }
                _ = engine.decide(PolicyConnection(from: engine.endpoint(for: source), to: engine.endpoint(for: destination),
                                                   protocol: .tcp, port: 80))
            }
        }
        return nil
    }
}
