import Firewall
import PacketWire
import Testing

/// A kind nobody built in: a box that drops packets about to expire (TTL 1 or less), written here in one
/// type, as a new middlebox is written in one file of the module.
struct LowTTLFilter: PacketInspector {
    typealias State = Void
    static let kind = FirewallKind("low-ttl-filter", displayName: "TTL filter")
    var minimum: UInt8 = 2

    func inspect(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64,
                 state: inout Void, trace: DecisionTrace?) -> Decision {
        let drops = packet.isIP && packet.timeToLive < minimum
        trace?.record("TTL \(packet.timeToLive); \(drops ? "below" : "at least") \(minimum)")
        return Decision(action: drops ? .drop : .accept, reason: drops ? DecisionReason(code: "ttlTooLow") : .notConcerned,
                        hook: hook, packet: packet)
    }

    func explain(_ decision: Decision, in context: ExplanationContext) -> Verdict {
        context.verdict(decision, ruleText: "TTL below \(minimum)",
                        sentence: "\(context.subject(decision.packet)) was dropped by \(context.whereText): its TTL is \(decision.packet.timeToLive)")
    }
}

@Suite("A new kind of device")
struct NewKindTests {
    @Test("a kind defined outside the module is placed, decides, traces and explains like the built-in ones")
    func newKind() {
        let device = FirewallDevice(configuration: FirewallConfiguration(name: "ttl", LowTTLFilter()), placement: "link a↔b", names: labNames)
        var expiring = TestFrames.udp(from: "192.0.2.1", 1, to: "192.0.2.2", 2)
        expiring[22] = 1
        let (decision, steps) = device.traced(expiring, at: .transit(outbound: true))
        #expect(decision.reason.code == "ttlTooLow" && steps == ["TTL 1; below 2"])
        let verdict = device.verdict(for: decision)
        #expect(verdict.kind.rawValue == "low-ttl-filter" && verdict.decidedBy == "TTL below 2")
        #expect(verdict.explanation == "UDP 2 from node-a (192.0.2.1) to node-b (192.0.2.2) was dropped by TTL filter ttl on link a↔b: its TTL is 1")
        #expect(device.inspect(TestFrames.udp(from: "192.0.2.1", 1, to: "192.0.2.2", 2), at: .transit(outbound: true)).0.accepted)
        #expect(device.configuration.warnings.isEmpty && device.packetsDropped == 1)
    }
}
