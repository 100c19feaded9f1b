import ClusterSim
import Foundation
import Testing

/// Netfilter conntrack's UDP states as Linux 6.18 keeps them (net/netfilter/nf_conntrack_proto_udp.c
/// `nf_conntrack_udp_packet`), through a stateful firewall the scenario's sysctls configure. The same
/// scenario runs on the kernel in the testbed suite (`udp-stream`), where Linux drops and delivers the
/// same packets.
@Suite("Linux conntrack: UDP streams")
struct LinuxConntrackTests {
    func flow(_ report: Report, _ name: String) throws -> Report.Flow {
        try #require(report.flows.first { $0.name == name })
    }

    @Test("a single reply leaves nf_conntrack_udp_timeout; a packet after a reply past 2 s makes a stream")
    func singleReplyIsNoStream() throws {
        let report = try Simulation(scenario: try loadScenario("linux-udp-stream")).run(captureDirectory: nil)
        for name in ["open", "single-reply", "reopen", "reply", "keepalive"] {
            #expect(try flow(report, name).packetsDelivered == 1, "\(name)")
        }
        // Before: the first reply made the entry a 10 s stream, and this answer passed.
        let late = try flow(report, "late-answer")
        #expect(late.packetsDelivered == 0)
        #expect(late.drops.contains { $0.code == .firewallDenied && $0.reason.contains("expired after 2 s without traffic (udp timeout)") })
        // Only a stream lives past 2 s idle: the keepalive at 5.7 s was after a reply, 2.2 s into the entry.
        #expect(try flow(report, "after-stream").packetsDelivered == 1)
    }

    @Test("the sysctls set the firewall's UDP timeouts; its own `timeouts` win")
    func sysctlsSetTimeouts() throws {
        var scenario = try loadScenario("linux-udp-stream")
        // With the stream timeout at 1 s, the answer 2.8 s after the keepalive meets an expired entry.
        let text = try String(contentsOfFile: "\(scenariosFolder)/linux-udp-stream.yaml", encoding: .utf8)
        scenario = try ScenarioParser.parse(yaml: text.replacingOccurrences(of: "nf_conntrack_udp_timeout_stream: 10", with: "nf_conntrack_udp_timeout_stream: 1"),
                                            file: "linux-udp-stream.yaml")
        let short = try Simulation(scenario: scenario).run(captureDirectory: nil)
        #expect(try flow(short, "after-stream").packetsDelivered == 0)
        // A firewall's own timeouts override the sysctls: a 5 s UDP timeout keeps the single reply's entry.
        let own = text.replacingOccurrences(of: "    policy: drop\n", with: "    policy: drop\n    timeouts: {udp: 5s}\n")
        #expect(own != text)
        let overridden = try Simulation(scenario: try ScenarioParser.parse(yaml: own, file: "linux-udp-stream.yaml")).run(captureDirectory: nil)
        #expect(try flow(overridden, "late-answer").packetsDelivered == 1)
    }
}
