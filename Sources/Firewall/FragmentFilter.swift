import PacketWire

/// A box that drops IP fragments: all of them, only first fragments, or only the ones after the first
/// (what some cloud and enterprise firewalls do to avoid reassembling).
public struct FragmentFilter: PacketInspector {
    public typealias State = Void
    public static let kind = FirewallKind("fragment-filter", displayName: "fragment filter")

    /// Which packets it drops: `any` (every fragment), `first` or `nonFirst`.
    public var drop: FragmentMatch

    public init(drop: FragmentMatch = .any) { self.drop = drop }

    public func inspect(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64,
                        state: inout Void, trace: DecisionTrace?) -> Decision {
        guard packet.isIP else {
            trace?.record("not an IP packet")
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        let drops = drop.matches(packet)
        trace?.record(step(packet, drops: drops))
        return Decision(action: drops ? .drop : .accept, reason: drops ? .fragmentDropped : .notConcerned, hook: hook, packet: packet)
    }

    /// "fragment (offset 0, more follow); drops all IP fragments", or why it passed.
    func step(_ packet: PacketFields, drops: Bool) -> String {
        let seen = packet.isFragment
            ? "fragment (offset \(packet.fragmentOffset)\(packet.moreFragments ? ", more follow" : ""))" : "not a fragment"
        if drops { return "\(seen); drops \(words)" }
        return packet.isFragment ? "\(seen); drops \(words) only, so it passes" : seen
    }

    var words: String {
        switch drop {
        case .any: "all IP fragments"
        case .first: "first fragments"
        case .nonFirst: "non-first fragments"
        case .none: "whole packets"
        }
    }

    public func explain(_ decision: Decision, in context: ExplanationContext) -> Verdict {
        let what = context.subject(decision.packet)
        guard decision.reason == .fragmentDropped else {
            return context.verdict(decision, ruleText: nil, sentence: "\(what) passed \(context.whereText) untouched")
        }
        let cause = context.fragmentationCause ?? "the packet was fragmented because it was larger than the MTU of a link on its path"
        return context.verdict(decision, ruleText: "drops \(words)", sentence:
            "\(what) was dropped by \(context.whereText), which drops \(words); \(cause)")
    }
}

extension DecisionReason {
    /// The fragment filter dropped a fragment.
    public static let fragmentDropped = DecisionReason(code: "fragmentDropped")
}
