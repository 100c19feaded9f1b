import ClusterSim
import Foundation
import Kubernetes

/// What `run` and `probe` are given: an overlay-sim scenario file (or a name in Scenarios/, or nothing for the
/// built-in default), or files and folders of Kubernetes manifests, possibly with an `apiVersion:
/// overlay-sim/v1`, `kind: Scenario` document among them.
enum ScenarioInput {
    /// The scenario, and for manifests what the conversion noted.
    struct Loaded {
        var scenario: Scenario
        var manifests: ManifestScenario?
    }

    /// Loads `inputs`. One file that is not Kubernetes YAML (no top-level `apiVersion:`) is a scenario file
    /// as before; anything else is read as manifests.
    static func load(_ inputs: [String], cni: CNIMode? = nil) throws -> Loaded {
        if inputs.count <= 1, !isManifestInput(inputs.first) {
            var scenario = try ScenarioLoader.load(inputs.first)
            if let cni { scenario.cni = cni }
            return Loaded(scenario: scenario, manifests: nil)
        }
        let converted = try ManifestConverter.read(paths: inputs, cni: cni)
        return Loaded(scenario: converted.scenario, manifests: converted)
    }

    /// A folder, or a file whose documents begin with `apiVersion:` or `kind:` at the top level.
    static func isManifestInput(_ path: String?) -> Bool {
        guard let path else { return false }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return false }
        if isFolder.boolValue { return true }
        // Sniffing must not read what the scenario reader refuses by size: leave a file over the limit to
        // ScenarioLoader, which says so naming the file instead of reading gigabytes first.
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        if size > Int64(ScenarioParser.maximumBytes) { return false }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("apiVersion:") || line.hasPrefix("kind:") { return true }
        }
        return false
    }

    /// The conversion's account, for a person: notes, then warnings naming object and field, then the
    /// objects not simulated, each once.
    static func describe(_ manifests: ManifestScenario) -> [String] {
        var lines: [String] = []
        let scenario = manifests.scenario
        let pods = (try? Probe.pods(of: scenario).count) ?? 0
        lines.append("manifests: \(scenario.nodes.count) nodes, \(scenario.networkPolicy.namespaces.count) namespaces, "
                     + "\(pods) pods from \(scenario.workloads.count) workloads, \(scenario.services.count) Services, "
                     + "\(scenario.networkPolicy.policies.count) NetworkPolicies, CNI \(scenario.cni)")
        for note in manifests.notes { lines.append("  " + note) }
        for warning in manifests.warnings { lines.append(warning.description) }
        if !manifests.ignored.isEmpty {
            let kinds = Dictionary(grouping: manifests.ignored, by: \.object.kind).map { "\($0.value.count) \($0.key)" }.sorted()
            lines.append("ignored (not simulated): " + kinds.joined(separator: ", "))
            for object in manifests.ignored { lines.append("  " + object.description) }
        }
        return lines
    }
}
