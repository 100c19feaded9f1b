import Capture
import ClusterSim
import Foundation
import PacketWire
import Testing

/// What a Linux node does to a packet on its way: TTLs, outer fragmentation with DF unset, an IPv6
/// underlay, and how workloads are placed and started.
@Suite("Dataplane")
struct DataplaneTests {
    static let yaml = """
    name: dataplane
    seed: 4
    cluster:
      overlay: {vni: 9, dstport: 4789, mtu: 1450, df: unset}
      nodes:
        - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
        - {name: b, address: 10.0.1.1, podCIDR: 10.244.1.0/24}
    underlay:
      routers: [r]
      links:
        - {between: [a, r], mtu: 1500}
        - {between: [b, r], mtu: 1400}
    workloads:
      - {kind: Pod, name: client, node: a}
      - {kind: Pod, name: neighbour, node: a}
      - {kind: Pod, name: server, node: b}
      - {kind: DaemonSet, name: agent, labels: {app: agent}}
      - {kind: StatefulSet, name: ss, replicas: 3, nodes: [b]}
    traffic:
      - {name: big-udp, from: client, to: server, protocol: udp, size: 1400, count: 4, port: 9000, df: false}
      - {name: local, from: client, to: neighbour, protocol: udp, size: 10, count: 1, port: 9000}
      - {name: ping-ss-0, from: client, to: ss-0, protocol: icmp, count: 1, start: 500us}
      - {name: ping-ss-2, from: client, to: ss-2, protocol: icmp, count: 1, start: 500us}
    """

    func run() throws -> (Report, String) {
        try runWithCaptures(try ScenarioParser.parse(yaml: Self.yaml, file: "dataplane.yaml"), label: "dataplane")
    }

    @Test("TTL: each routing node takes one off the inner packet, the router one off the outer")
    func timeToLive() throws {
        let (_, folder) = try run()
        let atServer = try frames(in: "\(folder)/pod-server.pcap")
        #expect(!atServer.isEmpty && atServer.allSatisfy { $0.bytes[22] == 62 }, "64, less node a and node b")
        let atNeighbour = try frames(in: "\(folder)/pod-neighbour.pcap")
        #expect(atNeighbour.count == 1 && atNeighbour[0].bytes[22] == 63, "one routing hop on the same node")
        let arrivedAtB = try frames(in: "\(folder)/b-underlay.pcap").filter {
            $0.bytes[12] == 0x08 && $0.bytes[13] == 0x00 && Array($0.bytes[30..<34]) == [10, 0, 1, 1]
        }
        #expect(!arrivedAtB.isEmpty && arrivedAtB.allSatisfy { $0.bytes[22] == 63 }, "outer TTL 64, less the router")
    }

    @Test("df unset: an outer packet too big for a link is fragmented there and reassembled before decapsulation")
    func outerFragmentation() throws {
        let (report, folder) = try run()
        let flow = try #require(report.flows.first { $0.name == "big-udp" })
        #expect(flow.packetsDelivered == 4 && flow.packetsDropped == 0)
        // 1,400 bytes of UDP data: a 1,428-byte inner packet, a 1,492-byte outer one, over a 1,400-byte link.
        let fragments = try frames(in: "\(folder)/b-underlay.pcap").filter { frame in
            frame.bytes.count > 21 && (frame.bytes[20] & 0x3F != 0 || frame.bytes[21] != 0)
        }
        #expect(fragments.count == 8, "two pieces per packet")
        #expect(try frames(in: "\(folder)/pod-server.pcap").allSatisfy { $0.bytes.count == 14 + 1428 })
    }

    @Test("a DaemonSet puts one pod on every node; a StatefulSet starts its pods in order")
    func workloads() throws {
        let (report, _) = try run()
        let agents = report.pods.filter { $0.workload == "agent" }
        #expect(agents.map(\.node).sorted() == ["a", "b"])
        #expect(report.pods.filter { $0.workload == "ss" }.map(\.name) == ["ss-0", "ss-1", "ss-2"])
        // ss-2 runs from 2 ms (1 ms after ss-1, after ss-0): a ping at 0.5 ms finds ss-0 only.
        #expect(report.flows.first { $0.name == "ping-ss-0" }?.echoReplies == 1)
        let early = try #require(report.flows.first { $0.name == "ping-ss-2" })
        #expect(early.echoReplies == 0 && early.drops.first?.reason == "pod ss-2 is not running yet")
    }

    @Test("an IPv6 underlay carries the overlay with 70 bytes of headers")
    func ipv6Underlay() throws {
        let yaml = Self.yaml
            .replacingOccurrences(of: "address: 10.0.0.1", with: "address: \"2001:db8::1\"")
            .replacingOccurrences(of: "address: 10.0.1.1", with: "address: \"2001:db8:1::1\"")
            .replacingOccurrences(of: "mtu: 1400}", with: "mtu: 1520}")
        let (report, folder) = try runWithCaptures(try ScenarioParser.parse(yaml: yaml, file: "v6.yaml"), label: "v6")
        #expect(report.flows.first { $0.name == "ping-ss-0" }?.echoReplies == 1)
        let outer = try frames(in: "\(folder)/a-underlay.pcap")
        #expect(!outer.isEmpty && outer.allSatisfy { $0.bytes[12] == 0x86 && $0.bytes[13] == 0xDD })
        let innerAtServer = try frames(in: "\(folder)/pod-server.pcap")
        let firstOuter = try #require(outer.first { $0.bytes.count > 70 + 14 + 20 })
        #expect(innerAtServer.contains { $0.bytes.count == firstOuter.bytes.count - 70 })
    }
}
