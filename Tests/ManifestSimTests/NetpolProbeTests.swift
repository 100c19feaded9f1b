import ClusterSim
import Foundation
import Kubernetes
import PacketWire
import NetpolE2EModel
import Testing
import Yams

/// The upstream e2e NetworkPolicy truth tables (Tests/KubernetesTests/Fixtures/netpol-e2e, transcribed from
/// kubernetes/kubernetes test/e2e/network/netpol) run through the simulator: each step's manifests become a
/// cluster, `probe` sends a real SYN, UDP datagram or SCTP INIT for every pair through the pods' stacks,
/// kube-proxy, the NetworkPolicy filter at the nodes' FORWARD hooks and the overlay, and every cell must
/// agree with the test's own expectation (a pod to itself excepted, as upstream's `ignoreLoopback` excepts it).
@Suite("probe on the upstream e2e NetworkPolicy tests")
struct NetpolProbeTests {
    static let folder = RepositoryPaths.path("Tests/KubernetesTests/Fixtures/netpol-e2e")
    static let fixtures: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".yaml") && $0 != "model.yaml" }.sorted()
    }()

    @Test("at least 40 upstream tests are probed")
    func enoughFixtures() {
        #expect(Self.fixtures.count >= 40)
    }

    @Test("every cell agrees with the upstream expectation, through Calico's dataplane", arguments: fixtures)
    func calico(_ fixture: String) throws {
        try E2EProbe.check(fixture: fixture, in: Self.folder, cni: .calicoVXLAN)
    }

    /// Cilium enforces at other places (the source's endpoint for egress): the tables must not change.
    @Test("every cell agrees through Cilium's dataplane", arguments: fixtures.filter { $0.hasPrefix("0") || $0.hasPrefix("3") })
    func cilium(_ fixture: String) throws {
        try E2EProbe.check(fixture: fixture, in: Self.folder, cni: .ciliumVXLAN)
    }

    /// Flannel enforces nothing: a default-deny policy changes no cell, which is what the catalogue warns of.
    @Test("Flannel connects every pair whatever the policies")
    func flannelEnforcesNothing() throws {
        let text = try String(contentsOfFile: Self.folder + "/01-support-a-default-deny-ingress-policy.yaml", encoding: .utf8)
        let root = try #require(try Yams.compose(yaml: text))
        let step = try #require(root["steps"]?.array().first)
        let model = try E2EModel.load(yaml: try String(contentsOfFile: Self.folder + "/model.yaml", encoding: .utf8))
        var set = try model.manifests(protocols: [.tcp], ports: [80], podLabels: [:], namespaceLabels: [:])
        set.networkPolicies = try ManifestReader.read(documents: step["policies"]?.array() ?? [], file: "01", text: text).networkPolicies
        let converted = try ManifestConverter.convert(set, name: "flannel", file: "01", cni: .flannel)
        #expect(converted.scenario.warnings.contains { $0.message.contains("Flannel does not implement NetworkPolicy") })
        let results = try Probe.run(converted.scenario, targets: [Probe.Target(port: 80, protocol: .tcp)])
        #expect(results.count == 72)
        #expect(results.allSatisfy { $0.connected })
    }
}

enum E2EProbe {
    static func check(fixture: String, in folder: String, cni: CNIMode) throws {
        let model = try E2EModel.load(yaml: try String(contentsOfFile: folder + "/model.yaml", encoding: .utf8))
        let text = try String(contentsOfFile: folder + "/" + fixture, encoding: .utf8)
        let root = try #require(try Yams.compose(yaml: text))
        let title = root["test"]?.string ?? fixture
        let servers = try #require(root["servers"])
        let protocols = (servers["protocols"]?.array() ?? []).compactMap { $0.string.flatMap(TransportProtocol.init(rawValue:)) }
        let ports = (servers["ports"]?.array() ?? []).compactMap { $0.int }.map { UInt16(truncatingIfNeeded: $0) }
        var podLabels: [String: [String: String]] = [:]
        var namespaceLabels: [String: [String: String]] = [:]
        let steps = root["steps"]?.array() ?? []
        #expect(!steps.isEmpty, "\(fixture): no steps")
        for (stepNumber, step) in steps.enumerated() {
            for (pod, labels) in step["podLabels"]?.mapping ?? [:] {
                podLabels[pod.string ?? "", default: [:]].merge(stringMap(labels)) { _, new in new }
            }
            for (namespace, labels) in step["namespaceLabels"]?.mapping ?? [:] {
                namespaceLabels[namespace.string ?? "", default: [:]].merge(stringMap(labels)) { _, new in new }
            }
            var set = try model.manifests(protocols: protocols, ports: ports, podLabels: podLabels, namespaceLabels: namespaceLabels)
            set.networkPolicies = try ManifestReader.read(documents: step["policies"]?.array() ?? [], file: fixture, text: text).networkPolicies
            let converted = try ManifestConverter.convert(set, name: fixture, file: fixture, cni: cni)
            var targets: [Probe.Target] = []
            var expectations: [(Probe.Target, TruthTable)] = []
            for probe in step["probes"]?.array() ?? [] {
                let port = try #require(probe["port"]?.int.map { UInt16(truncatingIfNeeded: $0) })
                let proto = try #require(probe["protocol"]?.string.flatMap(TransportProtocol.init(rawValue:)))
                let target = Probe.Target(port: port, protocol: proto)
                targets.append(target)
                expectations.append((target, try TruthTable(parsing: try #require(probe["table"]?.string))))
            }
            let results = try Probe.run(converted.scenario, targets: targets)
            let pods = model.podNames
            let simulatedPods = try Probe.pods(of: converted.scenario)
            #expect(simulatedPods == pods)
            for (target, expected) in expectations {
                let observed = Probe.table(results, pods: pods, target: target)
                let wrong = expected.differences(from: observed)
                guard !wrong.isEmpty else { continue }
                let why = wrong.prefix(6).compactMap { cell in
                    results.first { $0.from == cell.from && $0.to == cell.to && $0.port == target.port && $0.protocol == target.protocol }
                        .map { "\($0.from) → \($0.to): " + ($0.reason.map { "[\($0.code?.rawValue ?? "-")] \($0.place): \($0.sentence)" } ?? "connected") }
                }.joined(separator: "\n")
                Issue.record("""
                    \(fixture) "\(title)" step \(stepNumber + 1), \(cni), \(target.protocol) \(target.port): \(wrong.count) cells differ
                    expected:
                    \(expected)
                    observed:
                    \(observed)
                    \(why)
                    """)
            }
            // Every blocked cell is a policy drop with its sentence, never an unexplained loss.
            for result in results where !result.connected {
                #expect(result.reason?.code == .policyDenied, "\(fixture): \(result.from) → \(result.to) \(result.reason?.sentence ?? "")")
            }
        }
    }

    static func stringMap(_ node: Node) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in node.mapping ?? [:] { result[key.string ?? ""] = value.string ?? "" }
        return result
    }
}
