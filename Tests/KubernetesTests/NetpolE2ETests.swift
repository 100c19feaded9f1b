import Foundation
import Kubernetes
import PacketWire
import NetpolE2EModel
import Testing
import Yams

/// The Kubernetes e2e NetworkPolicy tests (kubernetes/kubernetes test/e2e/network/netpol/network_policy.go),
/// transcribed as data in Fixtures/netpol-e2e: for each test, the policies of each step and the truth table
/// the test's own expectations give. The evaluator must agree with every cell (a pod to itself excepted, as
/// upstream's `ignoreLoopback` excepts it).
@Suite("Upstream e2e NetworkPolicy truth tables")
struct NetpolE2ETests {
    static let fixtures = FixtureFiles.files(in: "netpol-e2e").filter { $0.lastPathComponent != "model.yaml" }

    @Test("at least 40 upstream tests are transcribed")
    func enoughFixtures() {
        #expect(Self.fixtures.count >= 40)
    }

    @Test("every cell agrees with the upstream expectation", arguments: fixtures)
    func truthTable(_ fixture: URL) throws {
        let model = try E2EModel.load(yaml: try FixtureFiles.text("netpol-e2e/model.yaml"))
        let text = try String(contentsOf: fixture, encoding: .utf8)
        let file = fixture.lastPathComponent
        guard let root = try Yams.compose(yaml: text) else {
            Issue.record("\(file) is empty")
            return
        }
        let title = root["test"]?.string ?? file
        let servers = try #require(root["servers"])
        let protocols = (servers["protocols"]?.array() ?? []).compactMap { $0.string.flatMap(TransportProtocol.init(rawValue:)) }
        let ports = (servers["ports"]?.array() ?? []).compactMap { $0.int }.map { UInt16(truncatingIfNeeded: $0) }
        #expect(!protocols.isEmpty && !ports.isEmpty, "\(file): servers needs protocols and ports")

        var podLabels: [String: [String: String]] = [:]
        var namespaceLabels: [String: [String: String]] = [:]
        let steps = root["steps"]?.array() ?? []
        #expect(!steps.isEmpty, "\(file): no steps")
        for (stepNumber, step) in steps.enumerated() {
            for (pod, labels) in step["podLabels"]?.mapping ?? [:] {
                podLabels[pod.string ?? "", default: [:]].merge(stringMap(labels)) { _, new in new }
            }
            for (namespace, labels) in step["namespaceLabels"]?.mapping ?? [:] {
                namespaceLabels[namespace.string ?? "", default: [:]].merge(stringMap(labels)) { _, new in new }
            }
            let cluster = try model.manifests(protocols: protocols, ports: ports, podLabels: podLabels,
                                              namespaceLabels: namespaceLabels)
            let policies = try ManifestReader.read(documents: step["policies"]?.array() ?? [], file: file, text: text)
            var combined = cluster
            combined.networkPolicies = policies.networkPolicies
            let engine = PolicyEngine(PolicyCluster(manifests: combined))

            for probe in step["probes"]?.array() ?? [] {
                let port = try #require(probe["port"]?.int.map { UInt16(truncatingIfNeeded: $0) })
                let proto = try #require(probe["protocol"]?.string.flatMap(TransportProtocol.init(rawValue:)))
                let expected = try TruthTable(parsing: try #require(probe["table"]?.string))
                var observed = TruthTable(items: model.podNames)
                var reasons: [String: String] = [:]
                for from in model.podNames {
                    for to in model.podNames {
                        let source = try #require(engine.pod(namespace: namespaceOf(from), name: nameOf(from)))
                        let destination = try #require(engine.pod(namespace: namespaceOf(to), name: nameOf(to)))
                        let connection = PolicyConnection(from: .pod(source), to: .pod(destination), protocol: proto, port: port)
                        let decision = engine.decide(connection)
                        // The fast path and the explained path must agree on every cell.
                        #expect(decision.allowed == engine.allows(connection), "\(file): \(from) → \(to)")
                        observed[from, to] = decision.allowed
                        reasons["\(from) \(to)"] = decision.description
                    }
                }
                let wrong = expected.differences(from: observed)
                if !wrong.isEmpty {
                    let why = wrong.prefix(6).map { reasons["\($0.from) \($0.to)"] ?? "" }.joined(separator: "\n")
                    Issue.record("""
                        \(file) "\(title)" step \(stepNumber + 1), \(proto) \(port): \(wrong.count) cells differ
                        expected:
                        \(expected)
                        observed:
                        \(observed)
                        comparison:
                        \(expected.comparison(with: observed))
                        \(why)
                        """)
                }
            }
        }
    }

    private func stringMap(_ node: Node) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in node.mapping ?? [:] { result[key.string ?? ""] = value.string ?? "" }
        return result
    }

    private func namespaceOf(_ pod: String) -> String { String(pod.split(separator: "/")[0]) }
    private func nameOf(_ pod: String) -> String { String(pod.split(separator: "/")[1]) }
}
