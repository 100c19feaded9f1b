import Capture
import ClusterSim
import Foundation
import Testing

/// The reassembly timeout as Linux 6.18 has it (net/ipv4/ip_fragment.c `ip_expire`): `ipfrag_time` after a
/// datagram's first fragment, a host gives up on it, counts it lost, and, only when the fragment at offset
/// 0 had arrived, answers ICMP time exceeded, fragment reassembly (type 11 code 1) quoting that fragment,
/// as `icmp_send` builds every error. Measured in network namespaces (ipfrag_time 3, the second fragment
/// of a 2000-byte datagram dropped at ingress): one 590-byte frame 3.05 s later, TOS 0xc0, TTL 64, DF
/// clear, quoting the 1500-byte first fragment with MF set. Before, nothing was sent and the datagram
/// was counted neither delivered nor dropped.
@Suite("Linux reassembly timeout")
struct LinuxReassemblyTests {
    func u16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }

    /// ICMP time exceeded, fragment reassembly, in untagged IPv4 frames.
    func reassemblyTimeouts(_ path: String) throws -> [Frame] {
        try frames(in: path).filter { frame in
            let b = frame.bytes
            guard b.count > 42, b[12] == 0x08, b[13] == 0, b[23] == 1 else { return false }
            let icmp = 14 + Int(b[14] & 0x0F) * 4
            return b[icmp] == 11 && b[icmp + 1] == 1
        }
    }

    func flow(_ report: Report, _ name: String) throws -> Report.Flow {
        try #require(report.flows.first { $0.name == name })
    }

    @Test("a node holding first fragments answers ICMP 11/1 after ipfrag_time: 576 bytes, TOS 0xc0, DF clear, the first fragment quoted")
    func nodeAnswersAfterTimeout() throws {
        let (report, folder) = try runWithCaptures(try loadScenario("linux-fragment-filter"), label: "reasm-node")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let large = try flow(report, "large-udp")
        let timedOut = large.drops.filter { $0.code == .reassemblyTimedOut && $0.place == "node-b IP reassembly" }
        #expect(timedOut.reduce(0) { $0 + $1.count } == 10, "each of the 10 datagrams is lost once at node-b")
        // icmp_ratelimit: a burst of 6 errors toward node-a, then one a second (the datagrams were 50 ms apart).
        let answered = timedOut.filter { $0.reason.contains("ICMP time exceeded (fragment reassembly, type 11 code 1) sent to 10.0.0.1") }
        #expect(answered.reduce(0) { $0 + $1.count } == 6)
        let errors = try reassemblyTimeouts("\(folder)/node-a-underlay.pcap")
        #expect(errors.count == 6)
        let firstFragments = try frames(in: "\(folder)/node-b-underlay.pcap").filter { $0.bytes.count > 34 && $0.bytes[23] == 17 && u16($0.bytes, 20) == 0x2000 }
        let start = try #require(firstFragments.first).timestampNanoseconds
        let error = try #require(errors.first)
        let waited = error.timestampNanoseconds - start
        #expect(waited >= 30_000_000_000 && waited < 30_001_000_000, "ipfrag_time after the first fragment (plus the link): \(waited) ns")
        let b = error.bytes
        #expect(b.count == 14 + 576 && u16(b, 16) == 576)
        #expect(b[15] == 0xC0 && b[22] == 63 && b[20] & 0x40 == 0, "TTL 64 less wan-router's hop")
        #expect(Array(b[26..<30]) == [10, 0, 1, 1] && Array(b[30..<34]) == [10, 0, 0, 1])
        // The quote: node-a's first fragment as node-b received it, MF set, offset 0, UDP to 8472.
        let quote = 14 + 20 + 8
        #expect(u16(b, quote + 2) == 1396 && u16(b, quote + 6) == 0x2000 && b[quote + 9] == 17)
        #expect(u16(b, quote + 20 + 2) == 8472)
    }

    @Test("when the first fragment never arrived the datagram is lost without ICMP")
    func noFirstFragmentNoICMP() throws {
        let text = try String(contentsOfFile: "\(scenariosFolder)/linux-fragment-filter.yaml", encoding: .utf8)
        let changed = text.replacingOccurrences(of: "drop: non-first", with: "drop: first")
        #expect(changed != text)
        let (report, folder) = try runWithCaptures(try ScenarioParser.parse(yaml: changed, file: "fragment-filter.yaml"), label: "reasm-first")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let timedOut = try flow(report, "large-udp").drops.filter { $0.code == .reassemblyTimedOut }
        #expect(timedOut.reduce(0) { $0 + $1.count } == 10)
        #expect(timedOut.allSatisfy { $0.reason.contains("the first fragment never arrived") })
        #expect(try reassemblyTimeouts("\(folder)/node-a-underlay.pcap").isEmpty)
    }

    @Test("net.ipv4.ipfrag_time sets the wait")
    func ipfragTimeSetting() throws {
        let text = try String(contentsOfFile: "\(scenariosFolder)/linux-fragment-filter.yaml", encoding: .utf8)
        let (_, folder) = try runWithCaptures(try ScenarioParser.parse(yaml: text + "sysctl: {net.ipv4.ipfrag_time: 5}\n", file: "fragment-filter.yaml"),
                                              label: "reasm-time")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try #require(try reassemblyTimeouts("\(folder)/node-a-underlay.pcap").first)
        let start = try #require(try frames(in: "\(folder)/node-b-underlay.pcap").first { $0.bytes.count > 34 && $0.bytes[23] == 17 && u16($0.bytes, 20) == 0x2000 })
        let waited = first.timestampNanoseconds - start.timestampNanoseconds
        #expect(waited >= 5_000_000_000 && waited < 5_001_000_000, "\(waited) ns")
    }

    @Test("a pod missing an inner fragment answers its peer pod with ICMP 11/1 from its own address")
    func podAnswersAfterTimeout() throws {
        let yaml = """
        name: pod-reassembly-timeout
        seed: 7
        cluster:
          overlay: {vni: 1, dstport: 8472, mtu: 1450}
          nodes:
            - {name: node-a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
            - {name: node-b, address: 10.0.1.1, podCIDR: 10.244.1.0/24}
        underlay:
          links:
            - {between: [node-a, node-b], latency: 100us, loss: 0.3}
        workloads:
          - {kind: Pod, name: sender, node: node-a, labels: {app: sender}}
          - {kind: Pod, name: receiver, node: node-b, labels: {app: receiver}}
        traffic:
          - {name: big, from: sender, to: receiver, protocol: udp, size: 3000, count: 20, rate: 2/s, port: 9000}
        sysctl: {net.ipv4.ipfrag_time: 2}
        """
        let (report, folder) = try runWithCaptures(try ScenarioParser.parse(yaml: yaml, file: "pod-reassembly.yaml"), label: "reasm-pod")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let timedOut = try flow(report, "big").drops.filter { $0.code == .reassemblyTimedOut }
        #expect(timedOut.allSatisfy { $0.place == "receiver IP reassembly" })
        let answered = timedOut.filter { $0.reason.contains("sent to 10.244.0.") }.reduce(0) { $0 + $1.count }
        #expect(answered > 0, "the seed loses some fragments but not the first of every datagram: \(timedOut.map(\.reason))")
        let errors = try reassemblyTimeouts("\(folder)/pod-receiver.pcap")
        #expect(errors.count == answered)
        let b = try #require(errors.first).bytes
        #expect(b[15] == 0xC0 && b[26] == 10 && b[27] == 244 && b[28] == 1, "from the receiver pod's address")
        #expect(u16(b, 16) == 576 && u16(b, 14 + 28 + 6) == 0x2000, "576 bytes, quoting the first inner fragment (MF set)")
    }
}
