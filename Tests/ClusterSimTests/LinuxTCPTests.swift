import Capture
import Foundation
import PacketWire
import Testing
@testable import ClusterSim

/// The pod's TCP and UDP as Linux 6.18 does them (issue 10): timers, rehash, ICMP errors, closed ports,
/// the SYN's options and the per-socket IP ID. The numbers are the kernel's, measured in network
/// namespaces on this machine (see each test).
@Suite("Linux TCP and sockets in the pods")
struct LinuxTCPTests {
    static let settings = TCPSocketSettings(sysctls: Sysctls(), mtu: 1450)

    /// Drives a connection nobody answers, firing each timer when it is due; returns the SYN times and
    /// when and how it failed.
    static func unansweredSYNs(_ settings: TCPSocketSettings) -> (syns: [Nanoseconds], failedAt: Nanoseconds?, error: TCPConnectError?) {
        var connection = TCPClientConnection(localPort: 40000, remoteAddress: IPv4Address(10, 244, 1, 2), remotePort: 80,
                                             initialSequence: 1000, timestampOffset: 0, total: 1000, settings: settings)
        var actions: [TCPAction] = []
        var now: Nanoseconds = 0
        var syns: [Nanoseconds] = []
        connection.connect(now: now, into: &actions)
        for _ in 0..<100 {
            var timer: (Nanoseconds, Int)?
            for action in actions {
                switch action {
                case .send(let header, _) where header.flags == .syn: syns.append(now)
                case let .armTimer(delay, generation): timer = (delay, generation)
                case .failed(let error): return (syns, now, error)
                default: break
                }
            }
            guard let (delay, generation) = timer else { break }
            now += delay
            actions.removeAll()
            connection.timerFired(generation: generation, now: now, into: &actions)
        }
        return (syns, nil, nil)
    }

    @Test("SYNs follow tcp_syn_linear_timeouts then backoff: 0,1,2,3,4,5,7,11,19,35,67 s, ETIMEDOUT at 131 s")
    func synSchedule() {
        let (syns, failedAt, error) = Self.unansweredSYNs(Self.settings)
        #expect(syns.map { $0 / 1_000_000_000 } == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67])
        #expect(failedAt == 131_000_000_000)
        #expect(error == .timedOut)
    }

    @Test("tcp_syn_retries and tcp_syn_linear_timeouts come from the scenario's sysctl section")
    func synRetriesFromSysctls() throws {
        let scenario = try ScenarioParser.parse(yaml: """
            name: s
            sysctl: {net.ipv4.tcp_syn_retries: 2, net.ipv4.tcp_syn_linear_timeouts: 0}
            cluster:
              overlay: {vni: 1, dstport: 8472, mtu: 1450}
              nodes: [{name: a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}]
            workloads: [{kind: Pod, name: p, node: a}]
            """, file: "t.yaml")
        let (syns, failedAt, _) = Self.unansweredSYNs(TCPSocketSettings(sysctls: scenario.sysctls, mtu: 1450))
        #expect(syns.map { $0 / 1_000_000_000 } == [0, 1, 3])
        #expect(failedAt == 7_000_000_000)
    }

    @Test("RFC 6298 as tcp_rtt_estimator: srtt + max(rttvar, rto_min), in 4 ms jiffies; doubling; 924.6 s for tcp_retries2=15")
    func retransmissionTimeout() {
        var rto = RetransmissionTimeout(minimum: 200_000_000)
        #expect(rto.current == 1_000_000_000)
        rto.sample(200_000, acknowledged: 1, sendNext: 1)
        // 0.2 ms + 200 ms, rounded up to a 4 ms tick: 204 ms (the testbed measured 214 ms at 10 ms RTT).
        #expect(rto.current == 204_000_000)
        rto.backOff()
        #expect(rto.current == 408_000_000)
        for _ in 0..<20 { rto.backOff() }
        #expect(rto.current == 120_000_000_000)
        #expect(RetransmissionTimeout.modelTimeout(boundary: 15, base: 200_000_000) == 924_600_000_000)
        #expect(RetransmissionTimeout.modelTimeout(boundary: 3, base: 200_000_000) == 3_000_000_000)
    }

    @Test("a data black hole: the RTO doubles from ~204 ms and the connection gives up after 924.6 s, not 3.3 s")
    func dataGivesUpAfterRetries2() {
        var connection = TCPClientConnection(localPort: 40000, remoteAddress: IPv4Address(10, 244, 1, 2), remotePort: 80,
                                             initialSequence: 1000, timestampOffset: 0, total: 100_000, settings: Self.settings)
        var actions: [TCPAction] = []
        connection.connect(now: 0, into: &actions)
        actions.removeAll()
        var synAck = TCPSegmentFields(sourcePort: 80, destinationPort: 40000, sequence: 5000, acknowledgment: 1001, flags: [.syn, .ack],
                                      window: 64308)
        synAck.maximumSegmentSize = 1410
        synAck.timestampValue = 7
        synAck.windowScale = 10
        connection.handle(synAck, now: 200_000, into: &actions)
        let data = actions.compactMap { action -> TCPSegmentHeader? in
            if case .send(let header, _) = action, header.payloadLength > 0 { return header }
            return nil
        }
        // The initial window is ten segments of MSS 1410 − 12 bytes of timestamps.
        #expect(data.count == 10)
        #expect(data.allSatisfy { $0.payloadLength == 1398 && $0.timestamps?.echoReply == 7 && $0.optionsLength == 12 })
        var now: Nanoseconds = 200_000
        var expiries: [Nanoseconds] = []
        var failedAt: Nanoseconds?
        for _ in 0..<40 {
            guard let (delay, generation) = actions.lazy.compactMap({ action -> (Nanoseconds, Int)? in
                if case let .armTimer(delay, generation) = action { return (delay, generation) }
                return nil
            }).last else { break }
            now += delay
            actions.removeAll()
            connection.timerFired(generation: generation, now: now, into: &actions)
            if actions.contains(where: { if case .failed(.timedOut) = $0 { true } else { false } }) { failedAt = now; break }
            expiries.append(now)
        }
        #expect(expiries.first == 200_000 + 204_000_000)
        #expect(expiries.dropFirst().first == 200_000 + 204_000_000 * 3)
        let failed = failedAt ?? 0
        #expect(failed >= 924_600_000_000 && failed < 1_100_000_000_000, "gave up at \(failed)")
    }

    @Test("an RST to the SYN fails connect() with ECONNREFUSED; ICMP host prohibited about the SYN at once")
    func refusedAndUnreachable() {
        var connection = TCPClientConnection(localPort: 40000, remoteAddress: IPv4Address(10, 244, 1, 2), remotePort: 80,
                                             initialSequence: 1000, timestampOffset: 0, total: 10, settings: Self.settings)
        var actions: [TCPAction] = []
        connection.connect(now: 0, into: &actions)
        var second = connection
        actions.removeAll()
        connection.handle(TCPSegmentFields(sourcePort: 80, destinationPort: 40000, sequence: 0, acknowledgment: 1001, flags: [.rst, .ack]),
                          now: 1000, into: &actions)
        #expect(actions.contains { if case .failed(.refused) = $0 { true } else { false } })
        actions.removeAll()
        #expect(second.unreachable(type: 3, code: 13, sequence: 1000, into: &actions))
        #expect(actions.contains { if case .failed(.unreachable(3, 13)) = $0 { true } else { false } })
        #expect(TCPConnectError.unreachable(type: 3, code: 10).sentence.hasPrefix("No route to host"))
    }

    @Test("the SYN's options are Linux's 20 bytes: mss, sackOK, TS, nop, wscale 10; PacketWire reads them back")
    func synOptionsLayout() throws {
        let header = TCPSegmentHeader(sourcePort: 48344, destinationPort: 8080, sequenceNumber: 1, flags: .syn,
                                      window: Self.settings.synWindow(segmentSize: 1410), maximumSegmentSize: 1410,
                                      sackPermitted: true, timestamps: (1_658_013_070, 0), windowScale: Self.settings.windowScale)
        var bytes = [UInt8](repeating: 0xa5, count: header.length)
        let source = IPv4Address(10, 99, 0, 1), destination = IPv4Address(10, 99, 0, 2)
        bytes.withUnsafeMutableBytes { header.emit(into: $0, checksum: .ipv4(source: source, destination: destination)) }
        // The option bytes of the SYN the kernel sent in the namespace test (MTU 1450).
        #expect(Array(bytes[20..<40]) == [0x02, 0x04, 0x05, 0x82, 0x04, 0x02, 0x08, 0x0a, 0x62, 0xd3, 0x45, 0x8e,
                                          0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a])
        #expect(header.window == 64860)
        try bytes.withUnsafeBytes { raw in
            let parsed = try TCPHeader(try TCPSegment(checking: raw), verifyingWith: .ipv4(source: source, destination: destination))
            #expect(parsed.options == [.maximumSegmentSize(1410), .sackPermitted, .timestamps(value: 1_658_013_070, echoReply: 0),
                                       .noOperation, .windowScale(10)])
        }
    }

    @Test("a closed port: RST for TCP, ICMP port unreachable for UDP, drops coded connectionRefused")
    func closedPort() throws {
        let (report, folder) = try runWithCaptures(try loadScenario("linux-closed-port"), label: "closed-port")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tcp = try #require(report.flows.first { $0.name == "tcp-closed" })
        #expect(tcp.connectionsFailed == 1)
        #expect(tcp.retransmissions == 0)
        #expect(tcp.drops.contains { $0.code == .connectionRefused && $0.reason.contains("connection refused") })
        let udp = try #require(report.flows.first { $0.name == "udp-closed" })
        #expect(udp.icmpErrorsReceived == 3)
        #expect(udp.drops.first?.code == .connectionRefused)
        let client = try frames(in: folder + "/pod-client.pcap")
        // TCP RST+ACK (flags 0x14) back to the client, IP ID 0, DF set.
        #expect(client.contains { $0.bytes.count >= 54 && $0.bytes[23] == 6 && $0.bytes[47] == 0x14 && $0.bytes[18] == 0 && $0.bytes[19] == 0 })
        // ICMP 3/3 quoting the whole 128-byte datagram: TOS 0xc0, DF clear (as __icmp_send).
        let icmp = client.filter { $0.bytes.count > 35 && $0.bytes[23] == 1 && $0.bytes[34] == 3 && $0.bytes[35] == 3 }
        #expect(icmp.count == 3)
        #expect(icmp.allSatisfy { $0.bytes[15] == 0xc0 && $0.bytes[20] & 0x40 == 0 && $0.bytes.count == 14 + 20 + 8 + 128 })
    }

    @Test("ICMP host prohibited from a firewall fails connect() at once (fw-firewalld-forward), no retries")
    func prohibitedEndsConnect() throws {
        let report = try Simulation(scenario: try loadScenario("fw-firewalld-forward")).run(captureDirectory: nil)
        let http = try #require(report.flows.first { $0.name == "http-server" })
        #expect(http.connectionsFailed == 1)
        #expect(http.retransmissions == 0)
        #expect(report.durationNanoseconds < 1_000_000_000)
    }

    /// A scenario whose TCP SYNs go unanswered (the link loses everything), with `txrehash` as given.
    static func blackHoleScenario(txrehash: Int) throws -> Scenario {
        try ScenarioParser.parse(yaml: """
            name: rehash
            seed: 5
            sysctl: {net.core.txrehash: \(txrehash), net.ipv4.tcp_syn_retries: 3, net.ipv4.tcp_syn_linear_timeouts: 0}
            cluster:
              overlay: {vni: 1, dstport: 8472, mtu: 1450}
              nodes:
                - {name: node-a, address: 10.0.0.1, podCIDR: 10.244.0.0/24}
                - {name: node-b, address: 10.0.0.2, podCIDR: 10.244.1.0/24}
            underlay:
              links:
                - {between: [node-a, node-b], latency: 100us, mtu: 1500, loss: 1}
            workloads:
              - {kind: Pod, name: client, node: node-a}
              - {kind: Pod, name: server, node: node-b}
            traffic:
              - {name: web, from: client, to: server, protocol: tcp, size: 1000, port: 80}
            """, file: "rehash.yaml")
    }

    /// The outer UDP source ports of the SYNs node-a sent.
    static func synOuterPorts(_ folder: String) throws -> [UInt16] {
        try frames(in: folder + "/node-a-underlay.pcap").compactMap { frame in
            let b = frame.bytes
            // Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 + inner IPv4 20: TCP flags at +13.
            guard b.count > 97, b[23] == 17, b[64 + 9] == 6, b[84 + 13] == 0x02 else { return nil }
            return UInt16(b[34]) << 8 | UInt16(b[35])
        }
    }

    @Test("net.core.txrehash=1: each retried SYN leaves with a new outer source port; txrehash=0 keeps one")
    func rehashChangesOuterPort() throws {
        let (_, withRehash) = try runWithCaptures(try Self.blackHoleScenario(txrehash: 1), label: "rehash1")
        let (_, without) = try runWithCaptures(try Self.blackHoleScenario(txrehash: 0), label: "rehash0")
        defer { for folder in [withRehash, without] { try? FileManager.default.removeItem(atPath: folder) } }
        let changing = try Self.synOuterPorts(withRehash), fixed = try Self.synOuterPorts(without)
        #expect(changing.count == 4)
        #expect(Set(changing).count == 4, "ports \(changing)")
        #expect(fixed.count == 4)
        #expect(Set(fixed).count == 1, "ports \(fixed)")
    }

    @Test("DF on a UDP datagram that fits (IP_PMTUDISC_WANT), none on one that is fragmented; +1 IP ID per SYN")
    func defaultsOnTheWire() throws {
        let (_, folder) = try runWithCaptures(try loadScenario("linux-closed-port"), label: "defaults")
        let (_, black) = try runWithCaptures(try Self.blackHoleScenario(txrehash: 1), label: "ids")
        defer { for f in [folder, black] { try? FileManager.default.removeItem(atPath: f) } }
        let udp = try frames(in: folder + "/pod-client.pcap").filter { $0.bytes.count > 23 && $0.bytes[23] == 17 }
        #expect(udp.count == 3)
        #expect(udp.allSatisfy { $0.bytes[20] & 0x40 != 0 })
        let ids = udp.map { UInt16($0.bytes[18]) << 8 | UInt16($0.bytes[19]) }
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $1 == $0 &+ 1 })
        let syns = try frames(in: black + "/pod-client.pcap").filter { $0.bytes.count > 47 && $0.bytes[23] == 6 && $0.bytes[47] == 0x02 }
        let synIDs = syns.map { UInt16($0.bytes[18]) << 8 | UInt16($0.bytes[19]) }
        #expect(synIDs.count == 4)
        #expect(zip(synIDs, synIDs.dropFirst()).allSatisfy { $1 == $0 &+ 1 })
        #expect(syns.allSatisfy { $0.bytes.count == 14 + 20 + 40 && $0.bytes[20] & 0x40 != 0 })
    }

    @Test("a connection opened after the pod learned a path MTU starts from it: SYN MSS 1310, no ICMP, no retransmission")
    func connectUsesLearnedPathMTU() throws {
        // Measured in namespaces: after ICMP fragmentation needed (mtu 1200) toward a host, connect() to it
        // sends MSS 1160 (tcp_connect_init: advmss from ipv4_default_advmss, ipv4_mtu of the route exception).
        var scenario = try loadScenario("fw-pmtu-black-hole")
        scenario.firewalls = []
        scenario.sysctls.ipForwardUsePMTU = true
        var second = try #require(scenario.traffic.first { $0.name == "upload" })
        second.name = "second-upload"
        second.start = 3_000_000_000
        scenario.traffic.append(second)
        let (report, folder) = try runWithCaptures(scenario, label: "tcp-learned-pmtu")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try #require(report.flows.first { $0.name == "upload" })
        #expect(first.icmpErrorsReceived > 0 && first.lowestMSS == 1298, "the first connection learns it the hard way")
        let later = try #require(report.flows.first { $0.name == "second-upload" })
        #expect(later.connectionsCompleted == 1 && later.icmpErrorsReceived == 0 && later.retransmissions == 0)
        #expect(later.lowestMSS == nil, "nothing to lower: it started at 1298")
        // The SYNs in the uploader's capture: the first offers 1410 (the interface), the second 1310.
        func isSYN(_ bytes: [UInt8]) -> Bool {
            guard bytes.count > 58, bytes[23] == 6 else { return false }
            return bytes[47] & 0x12 == 0x02
        }
        let syns = try frames(in: "\(folder)/pod-uploader.pcap").map(\.bytes).filter(isSYN)
        let offered = syns.map { bytes in Int(bytes[56]) << 8 | Int(bytes[57]) }
        #expect(offered == [1410, 1310], "MSS options \(offered)")
    }
}
