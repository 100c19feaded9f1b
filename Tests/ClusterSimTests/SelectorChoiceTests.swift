import ClusterSim
import Testing

/// `to: {selector: ..., choose: one|each}`: a flow to a selector goes to one matching pod (and the report
/// says which) or to each of them (one flow per pod).
@Suite struct SelectorChoiceTests {
    static func scenario(choose: String?, protocolName: String = "udp", events: String = "") -> String {
        let chooseField = choose.map { ", choose: \($0)" } ?? ""
        return """
        name: choose
        cluster:
          overlay: {vni: 1, mtu: 1450}
          nodes:
            - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
            - {name: b, address: 10.0.0.2, podCIDR: 10.244.1.0/24}
        workloads:
          - {kind: Pod, name: client, node: a}
          - {kind: Pod, name: web-a, node: b, labels: {app: web}}
          - {kind: Pod, name: web-b, node: b, labels: {app: web}}
          - {kind: Pod, name: web-c, node: a, labels: {app: web}}
          - {kind: Pod, name: other, node: b, labels: {app: other}}
        traffic:
          - {name: to-web, from: client, to: {selector: {app: web}\(chooseField)}, protocol: \(protocolName), count: 6, rate: 100/s, port: 9000, size: 200}
        """ + events
    }

    @Test("choose: one (and the default) reaches the first pod by name, and the report names it")
    func one() throws {
        for choose in [nil, "one"] {
            let report = try Simulation(scenario: try ScenarioParser.parse(yaml: Self.scenario(choose: choose), file: "c.yaml"))
                .run(captureDirectory: nil)
            #expect(report.flows.count == 1)
            let flow = try #require(report.flows.first)
            #expect(flow.to == "{app=web} (one pod)")
            #expect(flow.endpoints == ["web-a": 6], "\(choose ?? "default"): \(String(describing: flow.endpoints))")
            #expect(flow.packetsDelivered == 6)
        }
    }

    @Test("choose: one moves to the next pod by name when its pod is deleted")
    func oneAfterDeletion() throws {
        // Sends at 0, 10, ..., 50 ms; web-a goes at 25 ms, so the last three go to web-b.
        let yaml = Self.scenario(choose: "one", events: "\nevents:\n  - {at: 25ms, delete: web-a}\n")
        let report = try Simulation(scenario: try ScenarioParser.parse(yaml: yaml, file: "c.yaml")).run(captureDirectory: nil)
        let flow = try #require(report.flows.first)
        #expect(flow.endpoints == ["web-a": 3, "web-b": 3], "\(String(describing: flow.endpoints))")
    }

    @Test("choose: each makes one flow per matching pod, named FLOW/POD, each delivered to its pod", arguments: ["udp", "tcp", "icmp"])
    func each(protocolName: String) throws {
        let scenario = try ScenarioParser.parse(yaml: Self.scenario(choose: "each", protocolName: protocolName), file: "c.yaml")
        #expect(scenario.traffic.map(\.name) == ["to-web/web-a", "to-web/web-b", "to-web/web-c"])
        #expect(scenario.traffic.map(\.to) == [.pod("web-a"), .pod("web-b"), .pod("web-c")])
        let report = try Simulation(scenario: scenario).run(captureDirectory: nil)
        #expect(report.flows.map(\.name) == ["to-web/web-a", "to-web/web-b", "to-web/web-c"])
        for flow in report.flows {
            #expect(flow.packetsDelivered > 0 && flow.packetsDropped == 0, "\(flow.name): \(flow)")
            if protocolName == "tcp" { #expect(flow.connectionsCompleted == 1, "\(flow.name)") }
        }
        if protocolName != "tcp" { #expect(report.flows.allSatisfy { $0.packetsDelivered == 6 }) }
        // Each expanded flow goes to a pod, so it names no endpoints; `other` (app: other) is not among them.
        #expect(report.flows.allSatisfy { $0.endpoints == nil && !$0.name.hasSuffix("other") })
    }

    @Test("choose is refused where it means nothing, at its line and column", arguments: [
        (scenario(choose: "all"), "c.yaml:14:69: choose 'all' must be one"),
        (scenario(choose: nil).replacingOccurrences(of: "from: client,", with: "from: {pod: client, choose: each},"),
         "c.yaml:14:48: 'choose' goes with a destination selector"),
        (scenario(choose: nil).replacingOccurrences(of: "to: {selector: {app: web}}", with: "to: {pod: web-a, choose: each}"),
         "c.yaml:14:59: 'choose' goes with a destination selector"),
    ])
    func refused(yaml: String, expected: String) {
        var found: String?
        do { _ = try ScenarioParser.parse(yaml: yaml, file: "c.yaml") } catch { found = error.description }
        #expect(found?.hasPrefix(expected) == true, "got: \(found ?? "no error")")
    }
}
