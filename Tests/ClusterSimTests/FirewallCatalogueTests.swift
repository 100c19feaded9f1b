import Capture
import ClusterSim
import Foundation
import PacketWire
import Testing

/// The firewall catalogue: one scenario per real failure (the README lists them), each asserting which flows
/// fail, where, and the sentence the report gives.
@Suite("Firewall catalogue")
struct FirewallCatalogueTests {
    func run(_ name: String, explain: String? = nil) throws -> Report {
        let simulation = try Simulation(scenario: try loadScenario(name))
        simulation.explainFlow = explain
        return try simulation.run(captureDirectory: nil)
    }

    func flow(_ report: Report, _ name: String) throws -> Report.Flow {
        try #require(report.flows.first { $0.name == name })
    }

    @Test("every catalogue scenario loads; only the inner-policy one has a warning")
    func catalogueLoads() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: scenariosFolder)
            .filter { $0.hasPrefix("fw-") && $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        #expect(names.count >= 12, "\(names)")
        for name in names {
            let scenario = try loadScenario(name)
            #expect(!scenario.firewalls.isEmpty, "\(name)")
            #expect(scenario.warnings.isEmpty == (name != "fw-inner-policy"), "\(name): \(scenario.warnings)")
        }
    }

    @Test("UDP 4789 blocked: node-b's input chain drops VXLAN by its default policy; node-b's own traffic out still flows")
    func udp4789Blocked() throws {
        let report = try run("fw-udp-4789-blocked")
        #expect(try flow(report, "ping-backend").packetsDelivered == 0)
        #expect(try flow(report, "http-backend").connectionsFailed == 1)
        #expect(try flow(report, "metrics-out").packetsDelivered == 10, "node-b → node-a is not filtered")
        let drop = try #require(report.firewallDrops.first { $0.flow == "ping-backend" })
        #expect(drop.point == "node-b input chain" && drop.device == "node-b-nft" && drop.chain == "input")
        #expect(drop.defaultPolicy && drop.rule == nil && drop.count == 5)
        #expect(drop.explanation == "UDP 4789 (VXLAN) from node-a (10.0.0.1) to node-b (10.0.0.2) reached node-b's input chain (node-b-nft) and matched none of its 4 rules; the chain's policy is drop")
    }

    @Test("4789 allowed while Flannel uses 8472: the security group drops VXLAN both ways and names the port it allows")
    func portMismatch() throws {
        let report = try run("fw-sg-port-mismatch")
        #expect(try flow(report, "web-to-api").connectionsCompleted == 0)
        #expect(try flow(report, "api-to-web").packetsDelivered == 0)
        #expect(try flow(report, "web-to-cache").packetsDelivered == 10, "same-node traffic never meets the group")
        let drop = try #require(report.firewallDrops.first { $0.flow == "api-to-web" })
        #expect(drop.point == "node-a security group" && drop.kind == "security-group" && drop.defaultPolicy)
        #expect(drop.explanation.hasPrefix("UDP 8472 (Flannel VXLAN) from node-b (10.0.0.2) to node-a (10.0.0.1) is not allowed by security group sg-workers on node-a; its inbound rules allow UDP 4789 from 10.0.0.0/24, TCP 22 and TCP 10250 from 10.0.0.0/24 only"), "\(drop.explanation)")
        #expect(drop.explanation.contains("Rule 1 would allow it on port 4789: the overlay and the group disagree about the VXLAN port"))
    }

    @Test("a security group open in one direction: b→a flows, a→b does not, and ping fails because its replies go a→b")
    func oneDirection() throws {
        let report = try run("fw-sg-one-direction")
        #expect(try flow(report, "a-to-b").packetsDelivered == 0)
        #expect(try flow(report, "b-to-a").packetsDelivered == 10)
        let ping = try flow(report, "ping-b-to-a")
        #expect(ping.packetsDelivered == 5 && ping.packetsDropped == 0, "requests arrive")
        #expect(ping.drops.reduce(0) { $0 + $1.count } == 5, "the five replies are dropped")
        #expect(ping.echoReplies == 0, "so the ping fails")
        let drop = try #require(report.firewallDrops.first { $0.flow == "ping-b-to-a" })
        #expect(drop.device == "sg-node-b" && drop.point == "node-b security group")
        #expect(drop.explanation.contains("its inbound rules allow TCP 22 only. The group is stateful, but VXLAN's traffic the other way is not a reply"))
    }

    @Test("outer fragments dropped: small packets and the TCP handshake pass, anything over the 1400-byte link vanishes")
    func outerFragments() throws {
        let report = try run("fw-outer-fragments")
        #expect(try flow(report, "small-udp").packetsDelivered == 10)
        #expect(try flow(report, "large-udp").packetsDelivered == 0)
        let upload = try flow(report, "upload")
        #expect(upload.packetsDelivered == 1 && upload.connectionsFailed == 1, "the SYN arrives, no full-size segment does")
        let drops = report.firewallDrops.filter { $0.device == "frag-guard" }
        #expect(Set(drops.compactMap(\.flow)) == ["large-udp", "upload"])
        #expect(drops.allSatisfy { $0.explanation.contains("which drops all IP fragments; the 1478-byte outer packet was fragmented for the 1400-byte MTU of link wan-router↔node-b: the overlay assumes a 1500-byte underlay MTU (pod MTU 1450 + 50 bytes of VXLAN encapsulation)") || $0.flow == "upload" })
        #expect(drops.contains { $0.explanation.hasPrefix("A non-first fragment (offset 1376") })
    }

    @Test("PMTU black hole: the router's ICMP fragmentation needed is filtered, so node-a never lowers its path MTU")
    func pmtuBlackHole() throws {
        let report = try run("fw-pmtu-black-hole")
        #expect(try flow(report, "ping-store").packetsDelivered == 5)
        let upload = try flow(report, "upload")
        #expect(upload.connectionsFailed == 1 && upload.lowestMSS == nil)
        let drop = try #require(report.firewallDrops.first { $0.device == "no-icmp" })
        #expect(drop.flow == "upload" && drop.point == "link wan-router→node-a")
        #expect(drop.explanation.hasSuffix("node-a never learns that the path MTU is 1400, so its packets with DF set that are larger than 1400 bytes keep vanishing (a PMTU black hole)"))
        // Without the filter Flannel's routed VTEP is still a black hole (Linux: node-a learns 1400 but refuses
        // its own DF packets, see pmtu-routed-black-hole); a bridged VTEP or ip_forward_use_pmtu=1 converges on
        // 1400 - 50 bytes of VXLAN - 40 of IP and TCP - 12 of timestamps.
        var open = try loadScenario("fw-pmtu-black-hole")
        open.firewalls = []
        let routed = try Simulation(scenario: open).run(captureDirectory: nil)
        #expect(try flow(routed, "upload").connectionsCompleted == 0 && (try flow(routed, "upload")).icmpErrorsReceived == 0)
        open.sysctls.ipForwardUsePMTU = true
        let fixed = try Simulation(scenario: open).run(captureDirectory: nil)
        #expect(try flow(fixed, "upload").connectionsCompleted == 1 && (try flow(fixed, "upload")).lowestMSS == 1298)
    }

    @Test("a stateful firewall expires the tunnel's UDP flow: an answer after 20 s passes, one after 3 minutes is new and dropped")
    func conntrackExpiry() throws {
        let report = try run("fw-conntrack-expiry")
        #expect(try flow(report, "requests").packetsDelivered == 10)
        #expect(try flow(report, "answer-after-20s").packetsDelivered == 3)
        #expect(try flow(report, "answer-after-3min").packetsDelivered == 0)
        let expired = try #require(report.firewallDrops.first { $0.explanation.contains("expired") })
        #expect(expired.flow == "answer-after-3min" && expired.device == "fw-edge" && expired.count == 1)
        #expect(expired.explanation.hasSuffix("It counts as new: the conntrack entry for this flow (udp 10.0.0.1:4789 → 10.0.1.1:4789) expired after 2 min without traffic (udp stream timeout)"))
    }

    @Test("NAT rewriting the outer source port: still delivered, and the report says why; the captures show the new ports")
    func natSourcePort() throws {
        let (report, folder) = try runWithCaptures(try loadScenario("fw-nat-source-port"), label: "nat")
        #expect(try flow(report, "ping-server").packetsDelivered == 5)
        #expect(try flow(report, "fetch").connectionsCompleted == 1)
        #expect(report.firewallDrops.isEmpty)
        let rewrite = try #require(report.firewallRewrites.first { $0.flow == "fetch" })
        #expect(rewrite.explanation.contains("It is still delivered: VXLAN does not care about the outer source port — the receiving VTEP keys on the VNI and the inner MAC address"))
        func sourcePorts(_ file: String, to destination: IPv4Address) throws -> Set<UInt16> {
            Set(try frames(in: "\(folder)/\(file)").compactMap { frame -> UInt16? in
                let bytes = frame.bytes
                guard bytes.count > 42, bytes[23] == 17, IPv4Address(bytes[30], bytes[31], bytes[32], bytes[33]) == destination else { return nil }
                return UInt16(bytes[34]) << 8 | UInt16(bytes[35])
            })
        }
        let nodeB = try #require(IPv4Address("10.0.1.1"))
        let sent = try sourcePorts("node-a-underlay.pcap", to: nodeB), received = try sourcePorts("node-b-underlay.pcap", to: nodeB)
        #expect(!sent.isEmpty && !received.isEmpty && sent.isDisjoint(with: received), "\(sent) vs \(received)")
        #expect(try frames(in: "\(folder)/drops.pcap").isEmpty)
    }

    @Test("a DPI box drops VXLAN on 8472 as unrecognised UDP")
    func dpi() throws {
        let report = try run("fw-dpi-unrecognised-udp")
        #expect(report.flows.allSatisfy { $0.packetsDelivered == 0 })
        let drop = try #require(report.firewallDrops.first)
        #expect(drop.kind == "dpi" && drop.ruleText == "unrecognised protocol")
        #expect(drop.explanation.contains("The payload is valid VXLAN (VNI 1), but the box knows VXLAN only on UDP 4789, so VXLAN on 8472 is just unrecognised UDP to it"))
    }

    @Test("the checksum-offload bug: node-b drops every packet as a bad UDP checksum; noudpcsum fixes it")
    func checksumOffload() throws {
        let broken = try run("fw-checksum-offload-bug")
        for flow in broken.flows {
            #expect(flow.packetsDelivered == 0, "\(flow.name)")
            let drop = try #require(flow.drops.first)
            #expect(drop.place == "node-b vtep" && drop.reason.contains("udp: badChecksum at byte 40"))
            #expect(drop.reason.contains("with the 2020 checksum-offload bug (kubernetes#88986), left the UDP checksum computed for the old port"))
        }
        #expect(broken.firewallRewrites.allSatisfy { $0.explanation.contains("the checksum on the wire no longer covers the new source port") })
        let fixed = try run("fw-checksum-offload-noudpcsum")
        #expect(try flow(fixed, "dns-queries").packetsDelivered == 10)
        #expect(try flow(fixed, "connect").connectionsCompleted == 1)
        #expect(fixed.firewallRewrites.allSatisfy { $0.explanation.hasSuffix("the UDP checksum is 0 (noudpcsum), so there is nothing to get wrong") })
    }

    @Test("an inner policy an outer-only ACL cannot express: warned, never matches; the VXLAN-aware firewall enforces it")
    func innerPolicy() throws {
        let report = try run("fw-inner-policy")
        #expect(report.warnings.count == 1)
        #expect(report.warnings.first?.contains("fw-inner-policy.yaml:21:9: warning: rule 1 (`vxlan tcp dport 5432 drop comment \"no database from node-a\"`) of ACL core-acl's transit chain can never match: it matches inner headers, but core-acl is not vxlanAware") == true,
                "\(report.warnings)")
        #expect(try flow(report, "web-to-api").connectionsCompleted == 1)
        #expect(try flow(report, "web-to-db").connectionsFailed == 1)
        let drop = try #require(report.firewallDrops.first)
        #expect(drop.device == "dfw" && drop.rule == 1 && drop.point == "link core→node-b")
        #expect(drop.explanation.contains("carrying TCP web → postgres port 5432 in VNI 1 matched rule 1 of ACL dfw"))
        #expect(!report.firewallDrops.contains { $0.device == "core-acl" })
    }

    @Test("firewalld's forward chain rejects pod traffic: ping passes, TCP gets ICMP host prohibited")
    func forwardReject() throws {
        let report = try run("fw-firewalld-forward")
        #expect(try flow(report, "ping-server").packetsDelivered == 5)
        let http = try flow(report, "http-server")
        // One SYN, one ICMP host prohibited, and connect() fails at once (tcp_v4_err in SYN_SENT).
        #expect(http.connectionsFailed == 1 && http.icmpErrorsReceived == 1 && http.retransmissions == 0)
        let drop = try #require(report.firewallDrops.first)
        #expect(drop.action == "reject" && drop.point == "node-b forward chain")
        #expect(drop.explanation.hasSuffix("the chain's policy is reject, so the sender gets ICMP host prohibited (\"No route to host\")"))
    }

    @Test("drops.pcap holds every dropped frame at the point of the drop; runs repeat byte for byte")
    func dropsCapture() throws {
        let scenario = try loadScenario("fw-outer-fragments")
        let (report, folder) = try runWithCaptures(scenario, label: "drops")
        let dropped = try frames(in: "\(folder)/drops.pcap")
        #expect(dropped.count == report.firewallDrops.reduce(0) { $0 + $1.count })
        #expect(dropped.allSatisfy { $0.bytes.count > 34 && ($0.bytes[20] & 0x3F != 0 || $0.bytes[21] != 0) }, "all fragments")
        let (again, secondFolder) = try runWithCaptures(scenario, label: "drops2")
        #expect(again.json() == report.json())
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/drops.pcap")) == Data(contentsOf: URL(fileURLWithPath: "\(secondFolder)/drops.pcap")))
    }

    @Test("--explain traces one flow hop by hop with every rule met")
    func explain() throws {
        let report = try run("fw-udp-4789-blocked", explain: "ping-backend")
        let explanation = try #require(report.explanation)
        #expect(explanation.flow == "ping-backend")
        let lines = explanation.lines
        #expect(lines.first == "[0ns] pod frontend: sends ICMP echo request from frontend (10.244.0.2) to backend (10.244.1.2) (98 bytes)")
        #expect(lines.contains("[100.138us] node-b input chain:   rule 2 `tcp dport 22 accept`: no match (protocol is udp)"))
        #expect(lines.contains("[100.138us] node-b input chain:   no rule matched → policy drop"))
        #expect(lines.contains { $0.hasPrefix("[100.138us] node-b input chain: dropped: host firewall node-b-nft, default policy drop: UDP 4789") })
        #expect(try run("fw-udp-4789-blocked").explanation == nil)
    }
}
