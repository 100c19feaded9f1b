import Firewall
import PacketWire
import Testing

@Suite("Connection tracking")
struct ConntrackTests {
    /// A stateful firewall between node-a and node-b: node-a may open flows, node-b may only answer.
    func firewall(udpTimeout: Double = 30) -> FirewallDevice {
        var firewall = StatefulFirewall(transit: RuleSet(rules: [
            rule(.accept) { $0.states = [.established, .related] },
            rule(.accept) { $0.source = prefix("192.0.2.1"); $0.states = [.new] },
        ], policy: .drop))
        firewall.conntrack.timeouts.udp = UInt64(udpTimeout * 1e9)
        return FirewallDevice(configuration: FirewallConfiguration(name: "fw-1", firewall), placement: "link node-a↔node-b",
                              names: labNames)
    }

    @Test("a fixed-port tunnel: the reply is established until the UDP entry expires, then it is new from outside and dropped")
    func udpExpiry() {
        let fw = firewall()
        let out = TestFrames.udp(from: "192.0.2.1", 4789, to: "192.0.2.2", 4789)
        let back = TestFrames.udp(from: "192.0.2.2", 4789, to: "192.0.2.1", 4789)
        #expect(fw.inspect(out, at: .transit(outbound: true), seconds: 0).0.state == .new)
        let reply = fw.inspect(back, at: .transit(outbound: false), seconds: 5).0
        #expect(reply.accepted && reply.state == .established)
        // A packet after the reply, the entry older than 2 s: a stream, 120 s from now on.
        #expect(fw.inspect(back, at: .transit(outbound: false), seconds: 20).0.accepted)
        #expect(fw.inspect(back, at: .transit(outbound: false), seconds: 139).0.accepted)
        let late = fw.inspect(back, at: .transit(outbound: false), seconds: 260).0
        #expect(!late.accepted && late.state == .new && late.reason == .policy)
        let explanation = fw.verdict(for: late).explanation
        #expect(explanation.contains("It counts as new: the conntrack entry for this flow (udp 192.0.2.1:4789 → 192.0.2.2:4789) expired after 2 min without traffic (udp stream timeout)"), "\(explanation)")
        #expect(!explanation.contains("would accept it"), "a rule on the state alone is no near miss worth naming")
    }

    @Test("a single reply is not a stream: the entry keeps the 30 s UDP timeout (nf_conntrack_udp_packet)")
    func singleReplyKeepsShortTimeout() {
        let fw = firewall()
        let out = TestFrames.udp(from: "192.0.2.1", 4789, to: "192.0.2.2", 4789)
        let back = TestFrames.udp(from: "192.0.2.2", 4789, to: "192.0.2.1", 4789)
        _ = fw.inspect(out, at: .transit(outbound: true), seconds: 0)
        #expect(fw.inspect(back, at: .transit(outbound: false), seconds: 10).0.accepted)
        // 30 s after the reply the entry is gone: Linux refreshed it with nf_conntrack_udp_timeout.
        let late = fw.inspect(back, at: .transit(outbound: false), seconds: 40.5).0
        #expect(!late.accepted && late.conntrack?.expired?.timeoutName == "udp timeout" && late.conntrack?.expired?.assured == false)
    }

    @Test("replies within the first 2 s leave the 30 s timeout; the first packet after a reply past 2 s makes a stream")
    func streamNeedsTwoSeconds() {
        let out = TestFrames.udp(from: "192.0.2.1", 5353, to: "192.0.2.2", 53)
        let back = TestFrames.udp(from: "192.0.2.2", 53, to: "192.0.2.1", 5353)
        var tracker = ConnectionTracker()
        func pass(_ frame: [UInt8], _ seconds: Double) -> ConnectionEntry? {
            let fields = frame.withUnsafeBytes { PacketFields(parsing: $0) }
            let now = UInt64(seconds * 1e9)
            let lookup = tracker.classify(fields, now: now)
            tracker.commit(lookup, packet: fields, now: now)
            return tracker.entry(for: lookup.key ?? FlowKey(fields)!, now: now)
        }
        let second = ConntrackTimeouts.second
        #expect(pass(out, 0)?.timeout == 30 * second)
        #expect(pass(back, 0.5).map { ($0.seenReply, $0.assured, $0.timeout) } ?? (false, true, 0) == (true, false, 30 * second))
        #expect(pass(out, 1.0).map { ($0.assured, $0.timeout) } ?? (true, 0) == (false, 30 * second), "after a reply, but within 2 s")
        #expect(pass(back, 2.0).map { ($0.assured, $0.timeout) } ?? (true, 0) == (false, 30 * second), "2 s exactly is not after 2 s")
        #expect(pass(out, 2.1).map { ($0.assured, $0.timeout) } ?? (false, 0) == (true, 120 * second), "the stream")
        #expect(pass(back, 3.0)?.timeout == 120 * second)
    }

    @Test("one-way UDP expires after the 30 s UDP timeout")
    func oneWayExpiry() {
        let fw = firewall()
        let out = TestFrames.udp(from: "192.0.2.1", 4789, to: "192.0.2.2", 4789)
        let back = TestFrames.udp(from: "192.0.2.2", 4789, to: "192.0.2.1", 4789)
        _ = fw.inspect(out, at: .transit(outbound: true), seconds: 0)
        #expect(fw.inspect(back, at: .transit(outbound: false), seconds: 29.9).0.accepted)
        let fresh = firewall()
        _ = fresh.inspect(out, at: .transit(outbound: true), seconds: 0)
        let late = fresh.inspect(back, at: .transit(outbound: false), seconds: 30).0
        #expect(!late.accepted && late.conntrack?.expired?.timeoutName == "udp timeout")
    }

    @Test("VXLAN with hashed source ports is never a reply: node-b's packets are new flows")
    func vxlanIsNotAReply() throws {
        let fw = firewall()
        #expect(fw.inspect(try TestFrames.kernel("calico-v4", 14), at: .transit(outbound: true)).0.accepted)
        let answer = fw.inspect(try TestFrames.kernel("calico-v4", 15), at: .transit(outbound: false)).0
        #expect(!answer.accepted && answer.state == .new, "45498 → 4789 is not the reverse of 37085 → 4789")
    }

    @Test("ICMP errors about a tracked flow are related; about an unknown flow, invalid")
    func related() {
        let fw = firewall()
        let out = TestFrames.udp(from: "192.0.2.1", 40000, to: "192.0.2.2", 8472, payload: 1450, dontFragment: true)
        let icmp = TestFrames.fragmentationNeeded(from: "198.51.100.1", about: out, mtu: 1400)
        #expect(fw.inspect(icmp, at: .transit(outbound: false)).0.state == .invalid)
        _ = fw.inspect(out, at: .transit(outbound: true))
        let related = fw.inspect(icmp, at: .transit(outbound: false)).0
        #expect(related.accepted && related.state == .related)
    }

    @Test("a TCP segment without SYN and no entry is invalid")
    func tcpInvalid() {
        let fw = firewall()
        let ack = fw.inspect(TestFrames.tcp(from: "192.0.2.1", 50000, to: "192.0.2.2", 80, flags: .ack), at: .transit(outbound: true)).0
        #expect(ack.state == .invalid && !ack.accepted)
        #expect(fw.verdict(for: ack).explanation.contains("Conntrack marks it invalid: a TCP segment without SYN (flags [ACK]) belongs to no connection this device tracks"))
        #expect(fw.inspect(TestFrames.tcp(from: "192.0.2.1", 50000, to: "192.0.2.2", 80, flags: .syn), at: .transit(outbound: true)).0.state == .new)
    }

    @Test("memory is bounded: unreplied entries are evicted oldest first; a table of established flows refuses new ones")
    func bounded() {
        var tracker = ConnectionTracker(capacity: 4)
        for port in UInt16(1)...10 {
            let fields = TestFrames.udp(from: "192.0.2.1", port, to: "192.0.2.2", 4789).withUnsafeBytes { PacketFields(parsing: $0) }
            let lookup = tracker.classify(fields, now: 0)
            #expect(!lookup.tableFull)
            tracker.commit(lookup, packet: fields, now: 0)
        }
        #expect(tracker.count == 4 && tracker.evictions == 6)

        var established = ConnectionTracker(capacity: 2)
        for port in UInt16(1)...2 {
            for (source, sourcePort, destination, destinationPort) in [("192.0.2.1", port, "192.0.2.2", UInt16(53)), ("192.0.2.2", 53, "192.0.2.1", port)] {
                let fields = TestFrames.udp(from: source, sourcePort, to: destination, destinationPort).withUnsafeBytes { PacketFields(parsing: $0) }
                let lookup = established.classify(fields, now: 0)
                established.commit(lookup, packet: fields, now: 0)
            }
        }
        // Replied but not yet a stream (not assured): early_drop may still evict them.
        let third = TestFrames.udp(from: "192.0.2.1", 3, to: "192.0.2.2", 53).withUnsafeBytes { PacketFields(parsing: $0) }
        var probe = established
        #expect(!probe.classify(third, now: 1).tableFull && probe.evictions == 1)
        // A packet each after 2 s makes both streams (assured): now nothing may go.
        for port in UInt16(1)...2 {
            let fields = TestFrames.udp(from: "192.0.2.1", port, to: "192.0.2.2", 53).withUnsafeBytes { PacketFields(parsing: $0) }
            established.commit(established.classify(fields, now: 3 * ConntrackTimeouts.second), packet: fields, now: 3 * ConntrackTimeouts.second)
        }
        #expect(established.classify(third, now: 4 * ConntrackTimeouts.second).tableFull)
        #expect(!established.classify(third, now: 200_000_000_000).tableFull, "after the stream timeout the old entries are swept")
    }

    @Test("notrack exempts packets: their state is untracked")
    func notrack() {
        var exempt = RuleMatch()
        exempt.protocol = .udp
        exempt.destinationPorts = [PortRange(4789)]
        let raw = StatefulFirewall(transit: RuleSet(rules: [rule(.accept) { $0.states = [.untracked] }], policy: .drop),
                                   conntrack: ConnectionTracking(notrack: [exempt]))
        let fw = FirewallDevice(configuration: FirewallConfiguration(name: "raw", raw), placement: "link")
        let decision = fw.inspect(TestFrames.udp(from: "192.0.2.1", 1, to: "192.0.2.2", 4789), at: .transit(outbound: true)).0
        #expect(decision.accepted && decision.state == .untracked && fw.conntrackEntries == 0)
    }
}
