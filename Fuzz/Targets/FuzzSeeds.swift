import Capture
import ClusterSim
import Foundation

/// The seed corpora, made from the repository's own inputs: the fixture captures (Tests/TestFixtures),
/// the example scenarios (Scenarios/) and the built-in default. The fuzz driver writes them into its
/// corpus folder before a run; the regression tests replay them.
public enum FuzzSeeds {
    /// The kernel capture each decapsulation device (``FuzzTargets/devices``, by index) was recorded with.
    static let kernelCaptureOfDevice = ["flannel-v4", "calico-v4", "df-ttl", "frag-v4", "gbp", "nocsum-v4", "v6-underlay", "v6-underlay"]

    /// Seeds for the target `name`, read from the repository at `root`.
    public static func seeds(for name: String, root: URL) -> [[UInt8]] {
        switch name {
        case "frame-decoder": frameDecoderSeeds(root: root)
        case "decapsulation": decapsulationSeeds(root: root)
        case "scenario-parser": scenarioSeeds(root: root)
        case "firewall-parser": firewallSeeds(root: root)
        case "manifest-reader": manifestSeeds(root: root)
        default: []
        }
    }

    static func frames(_ path: String) -> [[UInt8]] {
        guard let reader = try? PcapReader(path: path), let frames = try? reader.readAll() else { return [] }
        return frames.map(\.bytes)
    }

    static func files(in folder: URL, endingIn suffixes: [String]) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { name in suffixes.contains { name.hasSuffix($0) } }.sorted().map { folder.appendingPathComponent($0) }
    }

    /// Every fixture capture as one input (its frames in order, length-prefixed), and each of its
    /// first frames alone.
    static func frameDecoderSeeds(root: URL) -> [[UInt8]] {
        let fixtures = root.appendingPathComponent("Tests/TestFixtures")
        let captures = files(in: fixtures.appendingPathComponent("kernel"), endingIn: [".pcap"])
            + files(in: fixtures.appendingPathComponent("odd"), endingIn: [".pcap", ".pcapng"])
        var seeds: [[UInt8]] = []
        for capture in captures {
            let frames = frames(capture.path)
            func prefixed(_ frame: [UInt8]) -> [UInt8] {
                let length = min(frame.count, 0xFFFF)
                return [UInt8(length >> 8), UInt8(length & 0xFF)] + frame.prefix(length)
            }
            if !frames.isEmpty { seeds.append(frames.flatMap(prefixed)) }
            seeds += frames.prefix(8).map(prefixed)
        }
        return seeds
    }

    /// Each kernel frame, behind the byte that picks the device it was recorded with.
    static func decapsulationSeeds(root: URL) -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for (index, capture) in kernelCaptureOfDevice.enumerated() {
            let path = root.appendingPathComponent("Tests/TestFixtures/kernel/\(capture).pcap").path
            seeds += frames(path).map { [UInt8(index)] + $0 }
        }
        return seeds
    }

    static func scenarioSeeds(root: URL) -> [[UInt8]] {
        let scenarios = files(in: root.appendingPathComponent("Scenarios"), endingIn: [".yaml", ".yml"])
        return [Array(Scenario.defaultYAML.utf8)] + scenarios.compactMap { try? [UInt8](Data(contentsOf: $0)) }
    }

    /// The body of each example scenario's `firewalls:` section: its lines up to the next top-level key.
    static func firewallSeeds(root: URL) -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for file in files(in: root.appendingPathComponent("Scenarios"), endingIn: [".yaml", ".yml"]) {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            var body: [Substring] = [], inside = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("firewalls:") { inside = true; continue }
                if inside, let first = line.first, first != " ", first != "#", first != "-" { break }
                if inside { body.append(line) }
            }
            if !body.isEmpty { seeds.append(Array(body.joined(separator: "\n").utf8) + [0x0A]) }
        }
        return seeds
    }

    /// Every manifest fixture of the Kubernetes tests (the e2e NetworkPolicy cases, the Calico cluster).
    static func manifestSeeds(root: URL) -> [[UInt8]] {
        let fixtures = root.appendingPathComponent("Tests/KubernetesTests/Fixtures")
        guard let walker = FileManager.default.enumerator(atPath: fixtures.path) else { return [] }
        let paths = walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        return paths.compactMap { try? [UInt8](Data(contentsOf: fixtures.appendingPathComponent($0))) }
    }
}
