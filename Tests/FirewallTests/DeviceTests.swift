import Firewall
import PacketWire
import Testing

@Suite("Firewall devices")
struct DeviceTests {
    func device(_ inspector: some PacketInspector, _ name: String = "fw", at placement: String = "node-b",
                vxlanAware: Bool = false) -> FirewallDevice {
        var configuration = FirewallConfiguration(name: name, inspector)
        configuration.vxlanAware = vxlanAware
        return FirewallDevice(configuration: configuration, placement: placement, names: labNames)
    }

    @Test("a security group that allows UDP 4789 drops Flannel's 8472, and says so")
    func securityGroupPortMismatch() throws {
        let group = device(SecurityGroup(rules: [
            .ingress: RuleSet(rules: [rule(.accept) { $0.protocol = .udp; $0.destinationPorts = [PortRange(4789)] }], policy: .drop),
        ]), "sg-workers")
        let (decision, _) = group.inspect(try TestFrames.kernel("flannel-v4", 9), at: .ingress)
        #expect(decision.action == .drop && decision.reason == .policy)
        let verdict = group.verdict(for: decision)
        #expect(verdict.defaultPolicy && verdict.ruleIndex == nil && verdict.device == "sg-workers")
        #expect(verdict.explanation.hasPrefix(
            "UDP 8472 (Flannel VXLAN) from node-a (192.0.2.1) to node-b (192.0.2.2) is not allowed by security group sg-workers on node-b; its inbound rules allow UDP 4789 only"),
            "\(verdict.explanation)")
        #expect(verdict.explanation.contains("Rule 1 would allow it on port 4789: the overlay and the group disagree about the VXLAN port"))
        let (calico, _) = group.inspect(try TestFrames.kernel("calico-v4", 8), at: .ingress)
        #expect(calico.accepted && calico.reason == .rule(0))
        #expect(group.inspect(try TestFrames.kernel("calico-v4", 8), at: .egress).0.accepted, "egress allows everything by default")
    }

    @Test("a host input chain with policy drop names the rules it has and the policy")
    func hostInputPolicy() throws {
        let host = device(HostFirewall(rules: [
            .input: RuleSet(rules: [
                rule(.accept) { $0.states = [.established, .related] },
                rule(.accept) { $0.protocol = .tcp; $0.destinationPorts = [PortRange(22)] },
            ], policy: .drop),
        ]), "firewalld")
        let (decision, _) = host.inspect(try TestFrames.kernel("calico-v4", 8), at: .input)
        #expect(decision.action == .drop && decision.state == .new)
        let verdict = host.verdict(for: decision)
        #expect(verdict.explanation.hasPrefix("UDP 4789 (VXLAN) from node-a (192.0.2.1) to node-b (192.0.2.2) reached node-b's input chain (firewalld) and matched none of its 2 rules; the chain's policy is drop"),
                "\(verdict.explanation)")
        let (traced, trace) = host.traced(try TestFrames.kernel("calico-v4", 8), at: .input)
        #expect(traced.reason == .policy && traced.action == .drop, "the traced decision is the decision")
        #expect(trace == ["conntrack: new (no entry for udp 192.0.2.1:51736 → 192.0.2.2:4789)",
                          "rule 1 `ct state established,related accept`: no match (state is new)",
                          "rule 2 `tcp dport 22 accept`: no match (protocol is udp)",
                          "no rule matched → policy drop"])
        #expect(host.inspect(try TestFrames.kernel("calico-v4", 8), at: .forward).0.reason == .noRules)
    }

    @Test("a rule that matches decides, with its 1-based index and nft text")
    func ruleMatches() throws {
        let host = device(HostFirewall(rules: [
            .input: RuleSet(rules: [
                rule(.accept) { $0.protocol = .tcp; $0.destinationPorts = [PortRange(22)] },
                rule(.drop) { $0.source = prefix("192.0.2.0/24"); $0.protocol = .udp; $0.destinationPorts = [PortRange(4789)] },
            ], policy: .accept),
        ]), "nft")
        let (decision, _) = host.inspect(try TestFrames.kernel("calico-v4", 8), at: .input)
        let verdict = host.verdict(for: decision)
        #expect(verdict.ruleIndex == 2 && verdict.ruleText == "ip saddr 192.0.2.0/24 udp dport 4789 drop")
        #expect(verdict.decidedBy == "rule 2: ip saddr 192.0.2.0/24 udp dport 4789 drop")
        #expect(verdict.explanation.contains("matched rule 2 of node-b's input chain (nft), `ip saddr 192.0.2.0/24 udp dport 4789 drop`, and was dropped"))
    }

    @Test("a stateless ACL cannot see ports in a non-first fragment; a stateful firewall lets it follow its first")
    func fragmentsThroughACLAndStatefulFirewall() throws {
        let first = try TestFrames.kernel("frag-v4", 11), second = try TestFrames.kernel("frag-v4", 12)
        let allow = RuleSet(rules: [rule(.accept) { $0.protocol = .udp; $0.destinationPorts = [PortRange(4789)] }], policy: .drop)
        let acl = device(AccessList(transit: allow), "acl-1", at: "link a↔b")
        #expect(acl.inspect(first, at: .transit(outbound: true)).0.accepted)
        let (dropped, _) = acl.inspect(second, at: .transit(outbound: true))
        #expect(!dropped.accepted)
        let explanation = acl.verdict(for: dropped).explanation
        #expect(explanation.hasPrefix("A non-first fragment (offset 1376, 74 bytes) of a UDP datagram from node-a (192.0.2.1) to node-b (192.0.2.2) matched none of the 1 rule of ACL acl-1 on link a↔b; its default policy is drop"), "\(explanation)")
        #expect(explanation.contains("a non-first fragment carries no UDP or TCP header, so rule 1 (`udp dport 4789 accept`) cannot match it"))

        let stateful = device(StatefulFirewall(transit: allow), "fw-1", at: "link a↔b")
        #expect(stateful.inspect(first, at: .transit(outbound: true)).0.accepted)
        let (follows, _) = stateful.inspect(second, at: .transit(outbound: true))
        #expect(follows.accepted && follows.reason == .followsFirstFragment)
    }

    @Test("a rule on the fragment offset picks the kernel's second fragment (offset 1376) and not the first")
    func fragmentOffsetRule() throws {
        let first = try TestFrames.kernel("frag-v4", 11), second = try TestFrames.kernel("frag-v4", 12)
        let late = rule(.drop) { $0.fragmentOffset = ValueRange(1000, 65528) }
        #expect(late.description.contains("ip frag-off & 0x1fff (bytes) 1000-65528"), "\(late.description)")
        let acl = device(AccessList(transit: RuleSet(rules: [late], policy: .accept)), "acl-1", at: "link a↔b")
        #expect(acl.inspect(first, at: .transit(outbound: true)).0.accepted)
        let (dropped, _) = acl.inspect(second, at: .transit(outbound: true))
        #expect(!dropped.accepted && acl.verdict(for: dropped).ruleIndex == 1)
        #expect(acl.inspect(try TestFrames.kernel("frag-v4", 7), at: .transit(outbound: true)).0.accepted, "whole packets have offset 0")
    }

    @Test("a TCP-flags rule drops a connection's first packet (SYN without ACK) and nothing else")
    func tcpFlagsRule() throws {
        let condition = try TCPFlagCondition.parse(["syn", "!ack"]).get()
        #expect(condition.description == "tcp flags & (syn | ack) == syn")
        let noNewConnections = rule(.drop) { $0.protocol = .tcp; $0.tcpFlags = condition }
        #expect(noNewConnections.description.contains("tcp flags & (syn | ack) == syn"), "\(noNewConnections.description)")
        let acl = device(AccessList(transit: RuleSet(rules: [noNewConnections], policy: .accept)), "acl-1", at: "link a↔b")
        func verdict(_ flags: TCPFlags) -> Bool {
            acl.inspect(TestFrames.tcp(from: "192.0.2.1", 50000, to: "192.0.2.2", 80, flags: flags), at: .transit(outbound: true)).0.accepted
        }
        #expect(!verdict(.syn))
        #expect(verdict([.syn, .ack]) && verdict(.ack) && verdict([.fin, .ack]))
        #expect(acl.inspect(try TestFrames.kernel("flannel-v4", 15), at: .transit(outbound: true)).0.accepted,
                "the pods' SYN inside VXLAN is UDP to an outer-only ACL")
        if case .failure(let unknown) = TCPFlagCondition.parse(["syn", "bogus"]) { #expect(unknown.word == "bogus") } else {
            Issue.record("an unknown flag name is refused")
        }
    }

    @Test("a fragment filter drops both fragments and lets whole packets pass")
    func fragmentFilter() throws {
        let filter = device(FragmentFilter(), "frag-drop", at: "link router↔node-b")
        let (first, _) = filter.inspect(try TestFrames.kernel("frag-v4", 11), at: .transit(outbound: true))
        #expect(first.action == .drop && first.reason == .fragmentDropped)
        #expect(filter.verdict(for: first).explanation.hasPrefix("The first fragment (1396 bytes) of UDP 4789 (VXLAN) from node-a (192.0.2.1) to node-b (192.0.2.2) was dropped by fragment filter frag-drop on link router↔node-b, which drops all IP fragments"))
        #expect(!filter.inspect(try TestFrames.kernel("frag-v4", 12), at: .transit(outbound: true)).0.accepted)
        #expect(filter.inspect(try TestFrames.kernel("frag-v4", 7), at: .transit(outbound: true)).0.accepted)
    }

    @Test("an ICMP filter that drops all ICMP makes a PMTU black hole, and says so")
    func icmpBlackHole() {
        let filter = device(ICMPFilter(), "no-icmp", at: "link tor↔node-a")
        let offending = TestFrames.udp(from: "192.0.2.1", 40000, to: "192.0.2.2", 8472, payload: 1450, dontFragment: true)
        let icmp = TestFrames.fragmentationNeeded(from: "198.51.100.1", about: offending, mtu: 1400)
        let (decision, _) = filter.inspect(icmp, at: .transit(outbound: false))
        #expect(decision.action == .drop && decision.reason == .icmpDropped)
        let explanation = filter.verdict(for: decision).explanation
        #expect(explanation == "ICMP fragmentation needed (next-hop MTU 1400) from tor (198.51.100.1) to node-a (192.0.2.1), about a 1478-byte UDP 8472 (Flannel VXLAN) packet from node-a to node-b was dropped by ICMP filter no-icmp on link tor↔node-a, which drops all ICMP; node-a never learns that the path MTU is 1400, so its packets with DF set that are larger than 1400 bytes keep vanishing (a PMTU black hole)", "\(explanation)")
        #expect(filter.inspect(offending, at: .transit(outbound: true)).0.accepted, "UDP is not its business")
    }

    @Test("an ICMP rate limit lets a burst through, then one packet per token")
    func icmpRateLimit() {
        let limiter = device(ICMPFilter(ratePerSecond: 1, burst: 2), "icmp-limit")
        let icmp = TestFrames.fragmentationNeeded(from: "198.51.100.1", about: TestFrames.udp(from: "192.0.2.1", 1, to: "192.0.2.2", 2), mtu: 1400)
        let results = [0.0, 0.1, 0.2, 1.3].map { limiter.inspect(icmp, at: .transit(outbound: true), seconds: $0).0.accepted }
        #expect(results == [true, true, false, true])
    }

    @Test("a DPI box drops Flannel's VXLAN on 8472 as unrecognised UDP and passes VXLAN on 4789")
    func deepPacketInspection() throws {
        let dpi = device(DeepPacketInspector(protocols: ["vxlan", "dns", "icmp"].compactMap(DPIProtocol.named)), "dpi-1",
                         at: "link node-a↔router")
        let (flannel, _) = dpi.inspect(try TestFrames.kernel("flannel-v4", 9), at: .transit(outbound: true))
        #expect(flannel.action == .drop && flannel.reason == .unrecognised)
        let explanation = dpi.verdict(for: flannel).explanation
        #expect(explanation.contains("is not a protocol DPI box dpi-1 on link node-a↔router recognises (it knows VXLAN on UDP 4789, DNS on UDP 53 and ICMP)"), "\(explanation)")
        #expect(explanation.contains("The payload is valid VXLAN (VNI 1), but the box knows VXLAN only on UDP 4789, so VXLAN on 8472 is just unrecognised UDP to it"))
        let (calico, _) = dpi.inspect(try TestFrames.kernel("calico-v4", 8), at: .transit(outbound: true))
        #expect(calico.reason == .recognised("vxlan"))
        let garbage = TestFrames.udp(from: "192.0.2.1", 5000, to: "192.0.2.2", 4789, payload: 4)
        #expect(dpi.inspect(garbage, at: .transit(outbound: true)).0.reason == .malformed("vxlan"))
        #expect(DPIProtocol.named("vxlan:8472")?.ports == [8472] && DPIProtocol.named("vxlan:x") == nil && DPIProtocol.named("quic") == nil)
    }

    @Test("a VXLAN-aware ACL matches inner ports; the same rule on an outer-only ACL never matches and is warned about")
    func vxlanAware() throws {
        let innerRule = rule(.drop) { $0.innerProtocol = .tcp; $0.innerDestinationPorts = [PortRange(8080)] }
        let aware = device(AccessList(transit: RuleSet(rules: [innerRule], policy: .accept)), "dfw", at: "link", vxlanAware: true)
        let syn = try TestFrames.kernel("calico-v4", 14)
        let (decision, _) = aware.inspect(syn, at: .transit(outbound: true))
        #expect(decision.action == .drop && decision.reason == .rule(0))
        let explanation = aware.verdict(for: decision).explanation
        #expect(explanation.contains("carrying TCP 10.244.0.5 → 10.244.1.7 port 8080 in VNI 4096 matched rule 1 of ACL dfw on link, `vxlan tcp dport 8080 drop`"), "\(explanation)")
        #expect(aware.inspect(try TestFrames.kernel("calico-v4", 8), at: .transit(outbound: true)).0.accepted, "ping passes")

        let blind = FirewallConfiguration(name: "outer-acl", AccessList(transit: RuleSet(rules: [innerRule], policy: .accept)))
        let outerOnly = FirewallDevice(configuration: blind, placement: "link")
        #expect(outerOnly.inspect(syn, at: .transit(outbound: true)).0.accepted)
        let warnings = RuleLint.warnings(for: blind)
        #expect(warnings.count == 1 && warnings.first?.ruleIndex == 0)
        #expect(warnings.first?.message.contains("it matches inner headers, but outer-acl is not vxlanAware") == true)
    }

    @Test("NAT rewrites the source port: recompute keeps the UDP checksum valid, the offload bug breaks it, noudpcsum has none to break")
    func natChecksums() throws {
        func nat(_ mode: SourceNAT.ChecksumMode) -> FirewallDevice {
            device(SourceNAT(randomFully: true, checksum: mode), "nat-a", at: "link node-a↔router")
        }
        func checksumValid(_ frame: [UInt8]) -> Bool {
            frame.withUnsafeBytes { bytes in
                guard let ip = try? IPv4Packet(checking: bytes.dropFirst(count: 14), frameOffset: 14),
                      let udp = try? UDPDatagram(checking: ip.payload) else { return false }
                return udp.checksum == 0 || udp.checksumIsValid(.ipv4(source: ip.source, destination: ip.destination))
            }
        }
        let original = try TestFrames.kernel("flannel-v4", 9)
        #expect(checksumValid(original))
        let (good, rewritten) = nat(.recompute).inspect(original, at: .transit(outbound: true))
        let rewrite = try #require(good.rewrite)
        #expect(rewrite.oldPort == 51736 && rewrite.newPort != 51736 && !rewrite.checksumBroken)
        #expect(rewritten[34] << 8 | rewritten[35] != original[34] << 8 | original[35] || rewritten[35] != original[35])
        #expect(checksumValid(rewritten), "an incremental update over the port keeps the checksum right")
        let sentence = nat(.recompute).verdict(for: good).explanation
        #expect(sentence.contains("It is still delivered: VXLAN does not care about the outer source port — the receiving VTEP keys on the VNI and the inner MAC address"), "\(sentence)")

        let (bad, broken) = nat(.offloadBug).inspect(original, at: .transit(outbound: true))
        #expect(bad.rewrite?.checksumBroken == true)
        #expect(!checksumValid(broken), "the offload bug leaves the checksum of the old port")
        #expect(nat(.offloadBug).verdict(for: bad).explanation.contains("kubernetes#88986"))

        let noChecksum = try TestFrames.kernel("nocsum-v4", 8)
        let (zero, kept) = nat(.offloadBug).inspect(noChecksum, at: .transit(outbound: true))
        #expect(zero.rewrite?.checksumWasZero == true && zero.rewrite?.checksumBroken == false)
        #expect(kept[40] == 0 && kept[41] == 0, "a zero checksum stays zero")
    }

    @Test("NAT translates replies back to the inside")
    func natReplies() {
        let nat = device(SourceNAT(sourceAddress: IPAddress("203.0.113.7")), "nat")
        let out = TestFrames.udp(from: "192.0.2.1", 5000, to: "192.0.2.2", 53)
        let (decision, translated) = nat.inspect(out, at: .transit(outbound: true))
        #expect(decision.rewrite?.newAddress == IPAddress("203.0.113.7") && decision.rewrite?.newPort == 5000)
        #expect(Array(translated[26..<30]) == [203, 0, 113, 7])
        let reply = TestFrames.udp(from: "192.0.2.2", 53, to: "203.0.113.7", 5000)
        let (back, restored) = nat.inspect(reply, at: .transit(outbound: false))
        #expect(back.reason == .translated && Array(restored[30..<34]) == [192, 0, 2, 1])
    }
}
