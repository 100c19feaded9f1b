import Firewall
import PacketWire
import Testing

/// `--explain` shows the decision's own steps. Each test here is a case where the trace used to be worked
/// out beside the decision (Trace.swift) and said something else than what the decision did.
@Suite("Decision traces")
struct TraceTests {
    func device(_ inspector: some PacketInspector, _ name: String = "fw", at placement: String = "link a↔b") -> FirewallDevice {
        FirewallDevice(configuration: FirewallConfiguration(name: name, inspector), placement: placement, names: labNames)
    }

    static let allowAll = RuleSet(rules: [rule(.accept) { _ in }], policy: .drop)

    @Test("a full conntrack table: the trace says the new flow was dropped for it, not that a rule accepted it")
    func conntrackTableFull() {
        let fw = device(StatefulFirewall(transit: Self.allowAll, conntrack: ConnectionTracking(tableSize: 2)))
        // Both entries assured: a reply, then a packet after it once the entry is over 2 s old makes a UDP
        // entry a stream (nf_conntrack_udp_packet), which early_drop does not evict.
        for port in UInt16(1)...2 {
            _ = fw.inspect(TestFrames.udp(from: "192.0.2.1", port, to: "192.0.2.2", 53), at: .transit(outbound: true))
            _ = fw.inspect(TestFrames.udp(from: "192.0.2.2", 53, to: "192.0.2.1", port), at: .transit(outbound: false))
            _ = fw.inspect(TestFrames.udp(from: "192.0.2.1", port, to: "192.0.2.2", 53), at: .transit(outbound: true), seconds: 3)
        }
        let (decision, steps) = fw.traced(TestFrames.udp(from: "192.0.2.1", 3, to: "192.0.2.2", 53), at: .transit(outbound: true), seconds: 3)
        #expect(decision.reason == .conntrackTableFull && !decision.accepted)
        #expect(steps == ["conntrack: new (no entry for udp 192.0.2.1:3 → 192.0.2.2:53)",
                          "conntrack table full (2 entries, none to evict) → drop"], "\(steps)")
        #expect(fw.verdict(for: decision).explanation.contains("conntrack table is full (2 entries, all assured, none to evict)"))
    }

    @Test("a full table with an unreplied entry evicts it, and the trace names it")
    func conntrackEviction() {
        let fw = device(StatefulFirewall(transit: Self.allowAll, conntrack: ConnectionTracking(tableSize: 1)))
        _ = fw.inspect(TestFrames.udp(from: "192.0.2.1", 1, to: "192.0.2.2", 53), at: .transit(outbound: true))
        let (decision, steps) = fw.traced(TestFrames.udp(from: "192.0.2.1", 2, to: "192.0.2.2", 53), at: .transit(outbound: true))
        #expect(decision.accepted && decision.conntrack?.evicted?.sourcePort == 1)
        #expect(steps.first == "conntrack: new (no entry for udp 192.0.2.1:2 → 192.0.2.2:53); the table was full, so the oldest entry not assured (udp 192.0.2.1:1 → 192.0.2.2:53: no reply yet, or UDP not yet a stream) was evicted", "\(steps)")
        #expect(steps.last == "rule 1 `accept`: match → accept")
    }

    @Test("a fragment filter for first fragments lets a later one pass, and the trace says so")
    func fragmentFilterSetting() throws {
        let first = try TestFrames.kernel("frag-v4", 11), second = try TestFrames.kernel("frag-v4", 12)
        let firsts = device(FragmentFilter(drop: .first))
        let (kept, keptSteps) = firsts.traced(second, at: .transit(outbound: true))
        #expect(kept.accepted && keptSteps == ["fragment (offset 1376); drops first fragments only, so it passes"], "\(keptSteps)")
        let (dropped, droppedSteps) = firsts.traced(first, at: .transit(outbound: true))
        #expect(!dropped.accepted && droppedSteps == ["fragment (offset 0, more follow); drops first fragments"], "\(droppedSteps)")
        let later = device(FragmentFilter(drop: .nonFirst))
        let (passed, passedSteps) = later.traced(first, at: .transit(outbound: true))
        #expect(passed.accepted && passedSteps == ["fragment (offset 0, more follow); drops non-first fragments only, so it passes"])
        #expect(!later.traced(second, at: .transit(outbound: true)).0.accepted)
    }

    @Test("an ICMP filter passes types it does not list and rate-limited ICMP within the limit, and the trace says so")
    func icmpFilterTypesAndRate() {
        let echo = TestFrames.echoRequest(from: "192.0.2.1", to: "192.0.2.2", identifier: 7)
        let typed = device(ICMPFilter(types: [3]))
        let (passed, steps) = typed.traced(echo, at: .transit(outbound: true))
        #expect(passed.accepted && steps == ["ICMP echo request; drops only ICMP of type 3, so it passes"], "\(steps)")

        let limited = device(ICMPFilter(ratePerSecond: 1, burst: 1))
        let (first, firstSteps) = limited.traced(echo, at: .transit(outbound: true))
        #expect(first.accepted && firstSteps == ["ICMP echo request; within the rate limit of 1/s (burst 1), so it passes"], "\(firstSteps)")
        let (second, secondSteps) = limited.traced(echo, at: .transit(outbound: true), seconds: 0.1)
        #expect(second.reason == .icmpRateLimited && secondSteps == ["ICMP echo request; exceeds the rate limit of 1/s (burst 1)"], "\(secondSteps)")
    }

    @Test("a DPI box passes non-IP frames and drops a fragment whose first it never saw, and the trace says so")
    func deepPacketInspectionEdges() throws {
        let dpi = device(DeepPacketInspector(protocols: ["vxlan"].compactMap(DPIProtocol.named)))
        var arp = [UInt8](repeating: 0, count: 42)
        arp[12] = 0x08; arp[13] = 0x06
        let (frame, frameSteps) = dpi.traced(arp, at: .transit(outbound: true))
        #expect(frame.accepted && frameSteps == ["not an IP packet: not its business"], "\(frameSteps)")
        let (orphan, orphanSteps) = dpi.traced(try TestFrames.kernel("frag-v4", 12), at: .transit(outbound: true))
        #expect(orphan.reason == .unseenFirstFragment && !orphan.accepted)
        #expect(orphanSteps == ["non-first fragment of a datagram whose first fragment it never saw: unrecognised"], "\(orphanSteps)")
    }

    @Test("a NAT says what it did to each packet: a new mapping, the same mapping, a reply, or nothing")
    func natSteps() {
        let nat = device(SourceNAT(sourceAddress: IPAddress("203.0.113.7")), "nat")
        let (_, new) = nat.traced(TestFrames.udp(from: "192.0.2.1", 5000, to: "192.0.2.2", 53), at: .transit(outbound: true))
        #expect(new == ["new flow udp 192.0.2.1:5000 → 192.0.2.2:53: mapped to 203.0.113.7:5000"], "\(new)")
        let (_, again) = nat.traced(TestFrames.udp(from: "192.0.2.1", 5000, to: "192.0.2.2", 53), at: .transit(outbound: true), seconds: 1)
        #expect(again == ["flow udp 192.0.2.1:5000 → 192.0.2.2:53: its mapping to 203.0.113.7:5000"], "\(again)")
        let (back, reply) = nat.traced(TestFrames.udp(from: "192.0.2.2", 53, to: "203.0.113.7", 5000), at: .transit(outbound: false), seconds: 2)
        #expect(back.reason == .translated)
        #expect(reply == ["reply to the mapping of udp 192.0.2.1:5000 → 192.0.2.2:53: destination 203.0.113.7:5000 → 192.0.2.1:5000"], "\(reply)")
        let (stranger, none) = nat.traced(TestFrames.udp(from: "192.0.2.9", 53, to: "203.0.113.7", 9), at: .transit(outbound: false))
        #expect(stranger.reason == .notConcerned && none == ["inbound, and no live mapping has this tuple: not translated"])
    }

    @Test("with or without a trace, every kind decides the same about the same frames")
    func tracingChangesNothing() throws {
        let frames = try [("calico-v4", 8), ("calico-v4", 14), ("calico-v4", 15), ("flannel-v4", 9), ("flannel-v4", 15),
                          ("frag-v4", 11), ("frag-v4", 12), ("frag-v4", 7), ("nocsum-v4", 8)].map { try TestFrames.kernel($0.0, $0.1) }
            + [TestFrames.echoRequest(from: "192.0.2.1", to: "192.0.2.2", identifier: 3),
               TestFrames.tcp(from: "192.0.2.2", 80, to: "192.0.2.1", 50000, flags: .ack)]
        let udp4789 = RuleSet(rules: [rule(.accept) { $0.protocol = .udp; $0.destinationPorts = [PortRange(4789)] }], policy: .drop)
        let kinds: [any PacketInspector] = [
            HostFirewall(rules: [.input: udp4789]), SecurityGroup(rules: [.ingress: udp4789]), AccessList(transit: udp4789),
            StatefulFirewall(transit: udp4789, conntrack: ConnectionTracking(tableSize: 3)), FragmentFilter(drop: .first),
            ICMPFilter(types: [8], ratePerSecond: 2, burst: 1), DeepPacketInspector(protocols: ["vxlan", "icmp"].compactMap(DPIProtocol.named)),
            SourceNAT(sourceAddress: IPAddress("203.0.113.7"), randomFully: true),
        ]
        for inspector in kinds {
            let plain = device(inspector), traced = device(inspector)
            for (index, frame) in (frames + frames).enumerated() {
                let hook: Hook = inspector is HostFirewall ? .input : inspector is SecurityGroup ? .ingress : .transit(outbound: index % 3 != 0)
                let seconds = Double(index) * 0.1
                let (a, bytesA) = plain.inspect(frame, at: hook, seconds: seconds)
                let trace = DecisionTrace()
                var bytesB = frame
                let b = bytesB.withUnsafeMutableBytes { traced.inspect($0, at: hook, now: UInt64(seconds * 1e9), trace: trace) }
                #expect(a.action == b.action && a.reason == b.reason && a.state == b.state && a.rewrite == b.rewrite
                        && bytesA == bytesB, "\(type(of: inspector).kind) frame \(index)")
                #expect(!trace.steps.isEmpty, "\(type(of: inspector).kind) frame \(index): every decision records a step")
            }
            #expect(plain.conntrackEntries == traced.conntrackEntries)
        }
    }
}
