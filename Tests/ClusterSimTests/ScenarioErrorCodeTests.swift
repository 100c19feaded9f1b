import Testing
@testable import ClusterSim

/// Each kind of scenario problem carries its code as well as its sentence and place, and the sections are
/// one table: a top-level field no entry names is unknown and the message lists the table's keys.
@Suite("Scenario errors carry a code")
struct ScenarioErrorCodeTests {
    static let base = """
    name: t
    cluster:
      nodes:
        - {name: a, address: 192.168.0.1, podCIDR: 10.244.0.0/24}
        - {name: b, address: 192.168.0.2, podCIDR: 10.244.1.0/24}
    underlay:
      links:
        - {between: [a, b]}
    workloads:
      - {kind: Pod, name: p, node: a}
      - {kind: Pod, name: q, node: b}

    """

    static let cases: [(String, String, ScenarioError.Code)] = [
        ("a top-level field no section reads", base + "colour: blue\n", .unknownField),
        ("no cluster", "name: t\n", .missingField),
        ("text where a number goes", base + "seed: many\n", .wrongType),
        ("a VNI beyond 24 bits", base.replacingOccurrences(of: "cluster:\n", with: "cluster:\n  overlay: {vni: 16777216}\n"), .outOfRange),
        ("a node name used twice", base.replacingOccurrences(of: "{name: b,", with: "{name: a,"), .duplicateName),
        ("a flow to a pod nobody creates", base + "traffic:\n  - {name: f, from: {pod: p}, to: {pod: zz}, protocol: udp, count: 1}\n", .unknownReference),
        ("overlapping pod CIDRs", base.replacingOccurrences(of: "10.244.1.0/24", with: "10.244.0.0/16"), .conflict),
        ("a duplicate key", base + "seed: 1\nseed: 2\n", .invalidYAML),
        ("an empty file", "", .unreadableFile),
    ]

    @Test(arguments: cases)
    func code(_ what: String, _ yaml: String, _ expected: ScenarioError.Code) {
        do {
            _ = try ScenarioParser.parse(yaml: yaml, file: "t.yaml")
            Issue.record("\(what): parsed without an error")
        } catch {
            #expect(error.code == expected, "\(what): \(error)")
            #expect(error.location.file == "t.yaml")
        }
    }

    @Test func theBaseScenarioParses() throws {
        let scenario = try ScenarioParser.parse(yaml: Self.base, file: "t.yaml")
        #expect(scenario.nodes.map(\.name) == ["a", "b"])
    }

    @Test func unknownTopLevelFieldListsEverySection() throws {
        do {
            _ = try ScenarioParser.parse(yaml: Self.base + "colour: blue\n", file: "t.yaml")
            Issue.record("parsed")
        } catch {
            #expect(error.location.line == 12)
            for section in Context.sections { #expect(error.message.contains(section.key), "\(section.key) missing from: \(error.message)") }
        }
    }
}
