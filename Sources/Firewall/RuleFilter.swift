import PacketWire

/// Connection tracking as a stateful rule-based device keeps it: Linux's per-protocol timeouts, a bounded
/// table, and the packets exempt from it (`notrack` in nftables' raw table).
public struct ConnectionTracking: Hashable, Sendable {
    public var timeouts = ConntrackTimeouts()
    /// Most entries the table keeps (`nf_conntrack_max`).
    public var tableSize = 65536
    /// Packets exempted from connection tracking: their state is `untracked`.
    public var notrack: [RuleMatch] = []

    public init(timeouts: ConntrackTimeouts = ConntrackTimeouts(), tableSize: Int = 65536, notrack: [RuleMatch] = []) {
        self.timeouts = timeouts
        self.tableSize = tableSize
        self.notrack = notrack
    }
}

/// What a rule-based device remembers: its conntrack table (stateful kinds only) and the verdicts it gave
/// first fragments, which later fragments follow.
public struct RuleFilterState: Sendable {
    var tracker: ConnectionTracker?
    var fragments = FragmentCache()
}

/// The engine the four rule-based kinds share (``HostFirewall``, ``SecurityGroup``, ``AccessList``,
/// ``StatefulFirewall``): chains of rules tried in order, first match wins, then the chain's policy; for
/// the stateful kinds connection tracking first, and later fragments following their first. A kind says
/// only what differs: its chains, their defaults, whether it tracks connections, and its words.
///
/// The decision records its steps into the trace as it takes them (conntrack state, each rule tried with
/// the condition that failed, the rule or policy that decided), so `--explain` shows the decision itself.
public protocol RuleBasedInspector: PacketInspector where State == RuleFilterState {
    /// The chains this kind keeps rules in.
    static var chains: [Chain] { get }
    /// Whether rules may match `ct state`.
    static var matchesConnectionState: Bool { get }
    /// Rules per chain, as the scenario gave them.
    var rules: [Chain: RuleSet] { get }
    /// Connection tracking; nil for a stateless device.
    var connectionTracking: ConnectionTracking? { get }
    /// The rules that apply at `chain`, with the kind's default when the scenario gave none; nil when the
    /// chain has no rules and accepts everything. Called per packet: return stored values.
    func ruleSet(_ chain: Chain) -> RuleSet?
    /// Whether return traffic (established, related) of an allowed flow passes without rules.
    var passesReturnTraffic: Bool { get }
    /// A rule as the device's own console shows it.
    func ruleText(_ rule: Rule, in context: ExplanationContext) -> String
    /// Where the chain is, for sentences: "node-b's input chain (firewalld)".
    func chainText(_ chain: Chain, in context: ExplanationContext) -> String
    /// The sentence for a packet no rule matched, with `what` as its subject.
    func policySentence(_ decision: Decision, what: String, in context: ExplanationContext) -> String
    /// What the trace says when no rule matched: "policy drop", "default deny".
    func policyStep(_ set: RuleSet) -> String
    /// Whether a new connection the rules refused deserves a note that conntrack had no entry.
    var explainsNewConnections: Bool { get }
}

extension RuleBasedInspector {
    public func ruleSet(_ chain: Chain) -> RuleSet? { rules[chain] }
    public var passesReturnTraffic: Bool { false }
    public func ruleText(_ rule: Rule, in context: ExplanationContext) -> String { rule.description }
    public func chainText(_ chain: Chain, in context: ExplanationContext) -> String { context.whereText }
    public func policyStep(_ set: RuleSet) -> String { "policy \(set.policy)" }
    public var explainsNewConnections: Bool { false }

    public func policySentence(_ decision: Decision, what: String, in context: ExplanationContext) -> String {
        let set = ruleSet(decision.hook.chain)
        let rules = set?.rules ?? [], policy = set?.policy ?? .accept
        if rules.isEmpty { return "\(what) met \(context.whereText), which has no rules; its default policy is \(policy)" }
        return "\(what) matched none of the \(rules.count) rule\(rules.count == 1 ? "" : "s") of \(context.whereText); its default policy is \(policy)"
    }

    // MARK: State

    public func makeState(seed: UInt64) -> RuleFilterState {
        RuleFilterState(tracker: connectionTracking.map { ConnectionTracker(capacity: $0.tableSize, timeouts: $0.timeouts) })
    }

    public func entryCount(_ state: RuleFilterState) -> Int { state.tracker?.count ?? 0 }

    // MARK: Deciding

    public func inspect(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64,
                        state: inout RuleFilterState, trace: DecisionTrace?) -> Decision {
        let tracks = state.tracker != nil
        // Virtual reassembly: a later fragment has no ports, so it gets what its first fragment got.
        if tracks, packet.isNonFirstFragment, let first = state.fragments.record(for: packet, now: now) {
            trace?.record("non-first fragment: follows its first fragment, which was \(first.accepted ? "accepted" : "dropped")")
            return Decision(action: first.accepted ? .accept : .drop, reason: .followsFirstFragment, hook: hook,
                            packet: packet, state: first.state)
        }
        var lookup: ConntrackLookup?
        var connection = ConnectionState.untracked
        if tracks {
            if isExemptFromTracking(packet) {
                trace?.record("conntrack: untracked (notrack)")
            } else if let found = state.tracker?.classify(packet, now: now) {
                lookup = found
                connection = found.state
                trace?.record("conntrack: " + Self.conntrackText(found))
                if found.tableFull {
                    trace?.record("conntrack table full (\(connectionTracking?.tableSize ?? 0) entries, none to evict) → drop")
                    return Decision(action: .drop, reason: .conntrackTableFull, hook: hook, packet: packet, state: connection,
                                    conntrack: found)
                }
            }
        }
        let decision = evaluate(packet, state: connection, at: hook, conntrack: lookup, trace: trace)
        if decision.accepted, let lookup { state.tracker?.commit(lookup, packet: packet, now: now) }
        if tracks, packet.moreFragments, packet.fragmentOffset == 0 {
            state.fragments.remember(packet, accepted: decision.accepted, state: connection, now: now, ruleDescription: nil)
        }
        return decision
    }

    /// The rules of the hook's chain, first match wins, then the policy.
    func evaluate(_ packet: PacketFields, state: ConnectionState, at hook: Hook, conntrack: ConntrackLookup?,
                  trace: DecisionTrace?) -> Decision {
        if passesReturnTraffic, state == .established || state == .related {
            trace?.record("return traffic of an allowed flow: accept")
            return Decision(action: .accept, reason: .returnTraffic, hook: hook, packet: packet, state: state, conntrack: conntrack)
        }
        guard let chain = ruleSet(hook.chain) else {
            trace?.record("\(hook.chain) chain: no rules, accept")
            return Decision(action: .accept, reason: .noRules, hook: hook, packet: packet, state: state, conntrack: conntrack)
        }
        for (index, rule) in chain.rules.enumerated() {
            if let mismatch = rule.match.firstMismatch(packet, state: state) {
                if let trace, let context = trace.context {
                    trace.record("rule \(index + 1) `\(ruleText(rule, in: context))`: no match (\(Self.mismatchText(mismatch, packet: packet, state: state, in: context)))")
                }
                continue
            }
            if let trace, let context = trace.context {
                trace.record("rule \(index + 1) `\(ruleText(rule, in: context))`: match → \(rule.action)")
            }
            return Decision(action: rule.action, reason: .rule(index), hook: hook, packet: packet, state: state, conntrack: conntrack)
        }
        trace?.record("no rule matched → \(policyStep(chain))")
        return Decision(action: chain.policy, reason: .policy, hook: hook, packet: packet, state: state, conntrack: conntrack)
    }

    func isExemptFromTracking(_ packet: PacketFields) -> Bool {
        guard let notrack = connectionTracking?.notrack, !notrack.isEmpty else { return false }
        return notrack.contains { $0.matches(packet, state: .untracked) }
    }

    // MARK: Lint

    public func lint(_ configuration: FirewallConfiguration) -> [RuleWarning] {
        RuleLint.warnings(for: self, of: configuration)
    }

    // MARK: Explaining

    public func explain(_ decision: Decision, in context: ExplanationContext) -> Verdict {
        let what = context.subject(decision.packet)
        let chain = decision.hook.chain
        let outcome = decision.accepted ? "accepted" : ExplanationContext.stopped(decision.action)
        if let index = decision.reason.ruleIndex {
            guard let set = ruleSet(chain), index < set.rules.count else {
                return context.verdict(decision, ruleIndex: index, ruleText: nil, sentence: what)
            }
            let text = ruleText(set.rules[index], in: context)
            return context.verdict(decision, ruleIndex: index, ruleText: text, sentence:
                "\(what) matched rule \(index + 1) of \(chainText(chain, in: context)), `\(text)`, and was \(outcome)"
                + stateNote(decision, leading: "; "))
        }
        switch decision.reason {
        case .policy:
            return context.verdict(decision, ruleText: nil, defaultPolicy: true, sentence:
                policySentence(decision, what: what, in: context) + stateNote(decision, leading: ". ")
                + nearMisses(decision, in: context))
        case .noRules:
            return context.verdict(decision, ruleText: "no rules", sentence:
                "\(what) passed \(context.placement)'s \(chain) chain, which has no rules")
        case .returnTraffic:
            return context.verdict(decision, ruleText: "return traffic of an allowed flow", sentence:
                "\(what) is return traffic (\(decision.state)) of a flow \(context.title) allowed, so it passes without a rule")
        case .followsFirstFragment:
            return context.verdict(decision, ruleText: "verdict of the first fragment", sentence:
                "\(what) gets the verdict \(context.whereText) gave its first fragment: \(outcome)")
        case .conntrackTableFull:
            return context.verdict(decision, ruleText: "conntrack table full", sentence:
                "\(what) opens a new flow, but \(context.title)'s conntrack table is full (\(connectionTracking?.tableSize ?? 0) entries, all assured, none to evict), so it was dropped (Linux logs \"nf_conntrack: table full, dropping packet\")")
        default:
            return context.verdict(decision, ruleText: nil, sentence: "\(what) passed \(context.whereText) untouched")
        }
    }

    /// Why the connection state is what it is, when that is the point.
    func stateNote(_ decision: Decision, leading: String) -> String {
        guard let lookup = decision.conntrack else { return "" }
        let sentenceStart = leading.hasPrefix(".")
        func start(_ text: String) -> String { leading + (sentenceStart ? ExplanationContext.capitalised(text) : text) }
        if let expired = lookup.expired, decision.state == .new {
            return start("it counts as new: the conntrack entry for this flow (\(expired.key)) expired after \(ExplanationContext.duration(expired.timeout)) without traffic (\(expired.timeoutName))")
        }
        if decision.state == .invalid, let reason = lookup.invalidReason {
            return start("conntrack marks it invalid: \(reason)")
        }
        if decision.state == .new, !decision.accepted, explainsNewConnections, let key = lookup.key, !lookup.exists {
            return start("it is a new connection: conntrack has no entry for \(key) or its reply")
        }
        return ""
    }

    /// Rules that would have taken the packet but for one condition worth naming.
    func nearMisses(_ decision: Decision, in context: ExplanationContext) -> String {
        guard let set = ruleSet(decision.hook.chain) else { return "" }
        let vxlanAware = context.configuration.vxlanAware
        var notes: [String] = []
        for (index, rule) in set.rules.enumerated() where rule.action == .accept {
            let mismatch = rule.match.firstMismatch(decision.packet, state: decision.state)
            var withoutState = rule.match
            withoutState.states = nil
            if mismatch == .state, withoutState != RuleMatch(), rule.match.matches(decision.packet, state: .established) {
                notes.append("rule \(index + 1) (`\(ruleText(rule, in: context))`) would accept it only as part of an established flow")
            } else if mismatch == .ports, decision.packet.isNonFirstFragment {
                notes.append("a non-first fragment carries no UDP or TCP header, so rule \(index + 1) (`\(ruleText(rule, in: context))`) cannot match it")
            } else if mismatch == .notVXLAN || (mismatch != nil && rule.match.usesInnerFields && !vxlanAware) {
                notes.append("rule \(index + 1) matches inner headers, which \(context.configuration.name) cannot see")
            }
            if notes.count == 2 { break }
        }
        return notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")"
    }

    /// A conntrack lookup in a trace: "new (no entry for udp 10.0.0.1:51736 → 10.0.0.2:4789)".
    static func conntrackText(_ lookup: ConntrackLookup) -> String {
        var text = lookup.state.rawValue
        if let key = lookup.key {
            if lookup.exists { text += lookup.isReply ? " (reply direction of \(key.reversed))" : " (entry \(key))" }
            else { text += " (no entry for \(key))" }
        }
        if let expired = lookup.expired {
            text += "; its entry expired after \(ExplanationContext.duration(expired.timeout)) idle (\(expired.timeoutName))"
        }
        if let reason = lookup.invalidReason { text += ": \(reason)" }
        if let evicted = lookup.evicted {
            text += "; the table was full, so the oldest entry not assured (\(evicted): no reply yet, or UDP not yet a stream) was evicted"
        }
        return text
    }

    /// The condition a rule failed, with the packet's value: "protocol is udp".
    static func mismatchText(_ condition: MatchCondition, packet: PacketFields, state: ConnectionState,
                             in context: ExplanationContext) -> String {
        switch condition {
        case .protocol: return "protocol is \(RuleMatch.protocolName(packet.protocol))"
        case .source: return "source is \(packet.source)"
        case .destination: return "destination is \(packet.destination)"
        case .sourcePort: return "source port is \(packet.sourcePort)"
        case .destinationPort: return "destination port is \(packet.destinationPort)"
        case .state: return "state is \(state)"
        case .length: return "length is \(packet.ipLength)"
        case .fragmentOffset: return "fragment offset is \(packet.fragmentOffset)"
        case .icmpType: return "ICMP type is \(packet.icmpType)"
        case .icmpCode: return "ICMP code is \(packet.icmpCode)"
        case .tcpFlags:
            return packet.protocol == .tcp && packet.hasTransportHeader ? "TCP flags are \(packet.tcpFlags)" : "not a TCP segment with its header"
        case .vni: return "VNI is \(packet.encapsulated?.vni ?? 0)"
        case .innerSource: return "inner source is \(packet.encapsulated?.innerSource.description ?? "-")"
        case .innerDestination: return "inner destination is \(packet.encapsulated?.innerDestination.description ?? "-")"
        case .innerDestinationPort: return "inner destination port is \(packet.encapsulated?.innerDestinationPort ?? 0)"
        case .notVXLAN where !context.configuration.vxlanAware: return "inner headers: \(context.configuration.name) is not VXLAN-aware"
        default: return condition.rawValue
        }
    }
}

extension DecisionReason {
    /// A security group let return traffic of a flow it allowed through without rules.
    public static let returnTraffic = DecisionReason(code: "returnTraffic")
    /// A new flow found the conntrack table full, with nothing to evict.
    public static let conntrackTableFull = DecisionReason(code: "conntrackTableFull")
}
