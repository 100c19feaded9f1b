import PacketWire

/// A box that drops ICMP of the listed types (all types when none are listed), or lets it through at a
/// limited rate with a burst (a token bucket on virtual time). Dropping ICMP fragmentation needed makes
/// the classic PMTU black hole, and the sentence says so.
public struct ICMPFilter: PacketInspector {
    public static let kind = FirewallKind("icmp-filter", displayName: "ICMP filter")

    /// ICMP types it acts on; nil for all.
    public var types: [UInt8]?
    /// Packets per second let through; nil drops every matching packet.
    public var ratePerSecond: Double?
    /// Packets that may pass in a burst above the rate (the token bucket's depth).
    public var burst: Int

    public init(types: [UInt8]? = nil, ratePerSecond: Double? = nil, burst: Int = 5) {
        self.types = types
        self.ratePerSecond = ratePerSecond
        self.burst = burst
    }

    public struct State: Sendable {
        var bucket: TokenBucket?
    }

    public func makeState(seed: UInt64) -> State {
        State(bucket: ratePerSecond.map { TokenBucket(rate: $0, burst: burst) })
    }

    public func inspect(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64,
                        state: inout State, trace: DecisionTrace?) -> Decision {
        guard packet.isICMP else {
            trace?.record("not ICMP")
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        guard !packet.isNonFirstFragment else {
            trace?.record("a non-first fragment of ICMP: no ICMP header to check, so it passes")
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        if let types, !types.contains(packet.icmpType) {
            if let trace, let context = trace.context { trace.record("\(context.icmpName(packet)); drops only \(words), so it passes") }
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        if state.bucket != nil {
            let allowed = state.bucket?.take(now: now) ?? true
            if let trace, let context = trace.context {
                trace.record("\(context.icmpName(packet)); \(allowed ? "within" : "exceeds") the rate limit of \(limitText)\(allowed ? ", so it passes" : "")")
            }
            return Decision(action: allowed ? .accept : .drop, reason: allowed ? .notConcerned : .icmpRateLimited,
                            hook: hook, packet: packet)
        }
        if let trace, let context = trace.context { trace.record("\(context.icmpName(packet)); drops \(words)") }
        return Decision(action: .drop, reason: .icmpDropped, hook: hook, packet: packet)
    }

    var words: String {
        types.map { types in "ICMP of type " + types.map(String.init).joined(separator: ", ") } ?? "all ICMP"
    }

    var limitText: String { "\(ExplanationContext.number(ratePerSecond ?? 0))/s (burst \(burst))" }

    public func explain(_ decision: Decision, in context: ExplanationContext) -> Verdict {
        let packet = decision.packet
        let what = context.subject(packet)
        var text: String
        let ruleText: String
        switch decision.reason {
        case .icmpDropped:
            text = "\(what) was dropped by \(context.whereText), which drops \(words)"
            ruleText = "drops \(words)"
        case .icmpRateLimited:
            text = "\(what) was dropped by \(context.whereText): it exceeds the ICMP rate limit of \(limitText)"
            ruleText = "ICMP rate limit"
        default:
            return context.verdict(decision, ruleText: nil, sentence: "\(what) passed \(context.whereText) untouched")
        }
        if let mtu = packet.reportedMTU {
            text += "; \(context.names.shortLabel(packet.destination)) never learns that the path MTU is \(mtu), so its packets with DF set that are larger than \(mtu) bytes keep vanishing (a PMTU black hole)"
        }
        return context.verdict(decision, ruleText: ruleText, sentence: text)
    }
}

extension DecisionReason {
    /// The ICMP filter dropped ICMP.
    public static let icmpDropped = DecisionReason(code: "icmpDropped")
    /// The ICMP filter's rate limit was exceeded.
    public static let icmpRateLimited = DecisionReason(code: "icmpRateLimited")
}
