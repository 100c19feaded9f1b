import Capture
import ClusterSim
import Foundation
import PacketWire
import Testing

/// Nodes, routers and the VTEP as Linux 6.18 has them (issue 10): path MTU on a routed and a bridged VTEP,
/// ICMP errors as `__icmp_send` builds them, the vxlan driver's `vxlan_err_lookup`, ICMPv6 Packet Too Big.
/// Each expectation fails on the behaviour before: the VTEP answering the pod itself on a routed VTEP,
/// 28-byte quotes with TOS 0 and ID 0, the TTL decremented in the quote, nodes acting on any quote.
@Suite("Linux nodes, routers and VTEPs")
struct LinuxNodeTests {
    func flow(_ report: Report, _ name: String) throws -> Report.Flow {
        try #require(report.flows.first { $0.name == name })
    }

    /// ICMP destination unreachable frames (type 3) in a capture.
    func unreachables(_ path: String) throws -> [[UInt8]] {
        try frames(in: path).map(\.bytes).filter { $0.count > 42 && $0[12] == 0x08 && $0[13] == 0 && $0[23] == 1 && $0[34] == 3 }
    }

    func u16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }

    /// An ICMP IPv4 fragment (more-fragments or an offset) from the store pod, 10.244.1.2.
    func isFragmentFromStore(_ bytes: [UInt8]) -> Bool {
        guard bytes.count > 34, bytes[23] == 1, Array(bytes[26..<30]) == [10, 244, 1, 2] else { return false }
        let flagsAndOffset = u16(bytes, 20)
        return flagsAndOffset & 0x3FFF != 0
    }

    /// An ICMPv6 Packet Too Big in an untagged IPv6 frame.
    func isPacketTooBig(_ bytes: [UInt8]) -> Bool {
        guard bytes.count > 62, bytes[12] == 0x86, bytes[13] == 0xDD else { return false }
        return bytes[20] == 58 && bytes[54] == 2
    }

    @Test("routed VTEP, df inherit, no filter: node-a learns 1400 but refuses its own DF packets; the pod hears nothing")
    func routedBlackHole() throws {
        let (report, folder) = try runWithCaptures(try loadScenario("pmtu-routed-black-hole"), label: "routed-black-hole")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try flow(report, "ping-store").packetsDelivered == 5)
        let big = try flow(report, "big-ping")
        #expect(big.packetsDelivered == 0 && big.icmpErrorsReceived == 0)
        let upload = try flow(report, "upload")
        #expect(upload.icmpErrorsReceived == 0 && upload.connectionsCompleted == 0 && upload.packetsDelivered <= 2)
        #expect(upload.drops.contains { $0.place == "node-a underlay" && $0.code == .mtuExceeded && $0.reason.contains("IpFragFails") })
        // The router's one error reached node-a; nothing reached the pod.
        #expect(try unreachables("\(folder)/pod-uploader.pcap").isEmpty)
        #expect(try unreachables("\(folder)/node-a-underlay.pcap").count == 1)
    }

    @Test("the router's ICMP: 576 bytes, TOS 0xc0, TTL 64, the TTL as received in the quote, a counting IP ID")
    func routerErrorBytes() throws {
        let (_, folder) = try runWithCaptures(try loadScenario("pmtu-routed-black-hole"), label: "router-icmp")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let error = try #require(try unreachables("\(folder)/node-a-underlay.pcap").first)
        #expect(error.count == 14 + 576 && u16(error, 16) == 576)
        #expect(error[15] == 0xC0 && error[22] == 64 && error[20] & 0x40 == 0)
        #expect(Array(error[26..<30]) == [198, 51, 100, 1] && u16(error, 40) == 1400)
        #expect(error[42 + 8] == 64, "the quoted outer TTL is node-a's 64, before the router's decrement")
        // With the 8-byte quote the router sends many: their IDs count up by one.
        let (_, minimal) = try runWithCaptures(try loadScenario("pmtu-minimal-quote-black-hole"), label: "router-ids")
        defer { try? FileManager.default.removeItem(atPath: minimal) }
        let errors = try unreachables("\(minimal)/node-a-underlay.pcap")
        #expect(errors.count > 2 && errors.allSatisfy { $0.count == 14 + 20 + 8 + 28 })
        let ids = errors.map { u16($0, 18) }
        #expect(zip(ids, ids.dropFirst()).allSatisfy { ($0 + 1) & 0xFFFF == $1 }, "\(ids)")
    }

    @Test("a router quoting 8 bytes: vxlan_err_lookup finds no VXLAN header, node-a ignores the error and black-holes")
    func minimalQuoteBlackHole() throws {
        let report = try Simulation(scenario: try loadScenario("pmtu-minimal-quote-black-hole")).run(captureDirectory: nil)
        let upload = try flow(report, "upload")
        #expect(upload.connectionsCompleted == 0 && upload.lowestMSS == nil)
        #expect(upload.drops.contains { $0.code == .icmpIgnored && $0.place == "node-a vtep" && $0.reason.contains("vxlan_err_lookup") })
        #expect(!upload.drops.contains { $0.place == "node-a underlay" }, "nothing learned, so node-a never refuses its own packets")
    }

    @Test("df unset: the router fragments the outer packets, node-b's flannel.1 (1350) fragments the inner replies")
    func dfUnset() throws {
        let (report, folder) = try runWithCaptures(try loadScenario("pmtu-routed-black-hole-df-unset"), label: "df-unset")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try flow(report, "big-ping").echoReplies == 3)
        #expect(try flow(report, "upload").connectionsCompleted == 1)
        let replies = try frames(in: "\(folder)/pod-uploader.pcap").map(\.bytes).filter(isFragmentFromStore)
        #expect(replies.count == 6, "three replies, each in two inner fragments")
        #expect(replies.contains { u16($0, 16) == 1348 }, "the first fragment fits node-b's flannel.1 MTU of 1400 - 50")
    }

    @Test("ip_forward_use_pmtu=1: node-a answers the pod from cni0's address; TCP converges")
    func forwardUsePMTU() throws {
        let (report, folder) = try runWithCaptures(try loadScenario("pmtu-routed-black-hole-forward-use-pmtu"), label: "use-pmtu")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let upload = try flow(report, "upload")
        // big-ping taught the pod's route 1350 before upload connected at 400 ms: the connection starts from
        // it (tcp_connect_init), MSS 1310 in the SYN, and never needs lowering.
        #expect(upload.connectionsCompleted == 1 && upload.lowestMSS == nil && upload.icmpErrorsReceived == 0 && upload.retransmissions == 0)
        let errors = try unreachables("\(folder)/pod-uploader.pcap")
        let first = try #require(errors.first)
        #expect(Array(first[26..<30]) == [10, 244, 0, 1], "from cni0")
        #expect(first[15] == 0xC0 && first[22] == 64 && first[20] & 0x40 == 0 && u16(first, 16) == 576 && u16(first, 40) == 1350)
        #expect(try flow(report, "big-ping").icmpErrorsReceived == 1)
    }

    @Test("bridged VTEP: the vxlan driver answers the pod itself (TTL 62, 576 bytes, DF, ID 0), cni0 sends redirects")
    func bridged() throws {
        var scenario = try loadScenario("pmtu-routed-black-hole")
        scenario.overlay.vtep = .bridged
        let (report, folder) = try runWithCaptures(scenario, label: "bridged")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try flow(report, "upload").connectionsCompleted == 1)
        let errors = try unreachables("\(folder)/pod-uploader.pcap")
        let first = try #require(errors.first)
        #expect(Array(first[26..<30]) == [10, 244, 1, 2], "as if from the destination pod")
        #expect(first[22] == 62 && u16(first, 16) == 576 && first[20] & 0x40 != 0 && u16(first, 18) == 0 && first[15] == 0)
        // The big ping's third try fails in the pod itself: it learned 1350 from the first error.
        #expect(try flow(report, "big-ping").packetsSent == 2)
        let redirects = try frames(in: "\(folder)/pod-uploader.pcap").map(\.bytes).filter { $0.count > 42 && $0[23] == 1 && $0[34] == 5 }
        #expect(!redirects.isEmpty && redirects.allSatisfy { $0[35] == 1 && Array($0[38..<42]) == [10, 244, 1, 1] })
    }

    @Test("IPv6 underlay: the router answers ICMPv6 Packet Too Big, node-a learns it and drops its own too-big packets")
    func ipv6PacketTooBig() throws {
        let (report, folder) = try runWithCaptures(try loadScenario("linux-ipv6-underlay"), label: "ipv6-ptb")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tooBig = try frames(in: "\(folder)/node-a-underlay.pcap").map(\.bytes).filter(isPacketTooBig)
        #expect(tooBig.count == 1)
        if let packet = tooBig.first {
            #expect(packet.count == 14 + 1280 && packet[21] == 64 && u16(packet, 60) == 1400)
        }
        let udp = try flow(report, "large-udp")
        #expect(udp.drops.contains { $0.place == "node-a underlay" && $0.code == .mtuExceeded })
        #expect(udp.drops.contains { $0.reason.contains("ICMPv6 Packet Too Big") && !$0.reason.contains("DF") })
    }

    @Test("a forward-chain reject answers as icmp_send: the whole SYN quoted, TOS 0xc0, a counting ID, from flannel.1's address")
    func rejectIsICMPSend() throws {
        // nf_send_unreach → icmp_send. Measured with nftables `reject with icmp type host-prohibited` in a
        // forward chain: 576-byte errors for a 1000-byte datagram, TOS 0xc0 | the packet's, TTL 64, DF clear,
        // from the address routing picks toward the sender, the quote's TTL already decremented.
        let (report, folder) = try runWithCaptures(try loadScenario("fw-firewalld-forward"), label: "reject-bytes")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try flow(report, "http-server").connectionsFailed == 1)
        let errors = try unreachables("\(folder)/pod-client.pcap")
        let error = try #require(errors.first)
        #expect(error[35] == 10, "host prohibited")
        #expect(Array(error[26..<30]) == [10, 244, 1, 0], "from node-b's flannel.1 (the route back to node-a's pod), not cni0")
        #expect(error[15] == 0xC0 && error[20] & 0x40 == 0 && u16(error, 18) != 0, "TOS 0xc0, DF clear, an IP ID")
        #expect(error[22] == 63, "TTL 64, less node-a's hop")
        #expect(u16(error, 16) == 20 + 8 + 60 && error.count == 14 + 88, "the whole 60-byte SYN quoted, not 28 bytes")
        #expect(error[42 + 8] == 62, "the quoted TTL after both nodes' decrements, as the FORWARD hook sees it")
    }

    @Test("a router answers TTL expiry with ICMP time exceeded quoting TTL 1")
    func timeExceeded() throws {
        var scenario = try loadScenario("pmtu-routed-black-hole-df-unset")
        scenario.overlay.ttl = .fixed(1)
        let (report, folder) = try runWithCaptures(scenario, label: "ttl")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try flow(report, "ping-store").packetsDelivered == 0)
        let exceeded = try frames(in: "\(folder)/node-a-underlay.pcap").map(\.bytes).filter { $0.count > 42 && $0[23] == 1 && $0[34] == 11 }
        #expect(!exceeded.isEmpty && exceeded.allSatisfy { $0[35] == 0 && $0[42 + 8] == 1 && $0[15] == 0xC0 })
    }

    @Test("router icmpQuote: a bad value is an error at its line")
    func routerQuoteOption() throws {
        let yaml = """
        name: q
        cluster:
          nodes:
            - {name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
        underlay:
          routers: [{name: r, icmpQuote: rfc999}]
        """
        #expect(throws: ScenarioError.self) { try ScenarioParser.parse(yaml: yaml, file: "q.yaml") }
        do { _ = try ScenarioParser.parse(yaml: yaml, file: "q.yaml") } catch {
            #expect("\(error)".contains("q.yaml:6:34") && "\(error)".contains("rfc792"))
        }
    }
}

/// kube-proxy's iptables mode as it behaves on the packet path and as the API server validates Services.
@Suite("kube-proxy as Linux runs it")
struct KubeProxyLinuxTests {
    static let base = """
    name: kp
    cluster:
      nodes:
        - {name: node-a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
        - {name: node-b, address: 10.0.0.2, podCIDR: 10.244.1.0/24}
    workloads:
      - {kind: Pod, name: client, node: node-a, labels: {app: client}}
      - {kind: Pod, name: web, node: node-b, labels: {app: web}}
    services:
      - {name: web, clusterIP: 10.96.0.10, selector: {app: web}, ports: [{port: 80, targetPort: 8080, protocol: TCP}]}

    """

    @Test("a Service without ready endpoints is rejected at once with ICMP port unreachable")
    func noEndpoints() throws {
        let yaml = Self.base + """
        traffic:
          - {name: t, from: client, to: {service: web}, protocol: tcp, size: 1000, start: 1ms}
        events:
          - {at: 0ms, delete: web}
        """
        let scenario = try ScenarioParser.parse(yaml: yaml, file: "kp.yaml")
        let report = try Simulation(scenario: scenario).run(captureDirectory: nil)
        let flow = try #require(report.flows.first)
        #expect(flow.icmpErrorsReceived >= 1)
        #expect(flow.drops.contains { $0.code == .serviceHasNoEndpoints && $0.reason.contains("ICMP port unreachable") })
    }

    @Test("two Services with one clusterIP, and a flow to a port the Service lacks, are errors at their lines")
    func serviceErrors() throws {
        let twice = Self.base + """
          - {name: web2, clusterIP: 10.96.0.10, selector: {app: web}, ports: [{port: 81, targetPort: 8080, protocol: TCP}]}
        """
        do { _ = try ScenarioParser.parse(yaml: twice, file: "kp.yaml"); Issue.record("accepted a duplicate clusterIP") } catch {
            #expect("\(error)".contains("kp.yaml:11") && "\(error)".contains("already service 'web'"))
        }
        let wrongPort = Self.base + """
        traffic:
          - {name: t, from: client, to: {service: web}, protocol: tcp, port: 443}
        """
        do { _ = try ScenarioParser.parse(yaml: wrongPort, file: "kp.yaml"); Issue.record("accepted port 443") } catch {
            #expect("\(error)".contains("kp.yaml:12") && "\(error)".contains("port 443/TCP") && "\(error)".contains("80/TCP"))
        }
    }

    @Test("a pod reaching itself through its Service is masqueraded to cni0's address and gets its replies")
    func hairpin() throws {
        let yaml = Self.base.replacingOccurrences(of: "selector: {app: web}", with: "selector: {app: client}") + """
        traffic:
          - {name: self, from: client, to: {service: web}, protocol: tcp, size: 5000}
        """
        let scenario = try ScenarioParser.parse(yaml: yaml, file: "kp.yaml")
        let (report, folder) = try runWithCaptures(scenario, label: "hairpin")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(report.flows.first?.connectionsCompleted == 1)
        let arriving = try frames(in: "\(folder)/pod-client.pcap").map(\.bytes)
            .filter { $0.count > 34 && $0[23] == 6 && Array($0[30..<34]) == [10, 244, 0, 2] && Array($0[26..<30]) == [10, 244, 0, 1] }
        #expect(!arriving.isEmpty, "the SYN arrives from cni0's address")
    }
}
