/// A decision explained: which device, which rule (index and text) or the default policy, and one
/// sentence a network engineer would write.
public struct Verdict: Hashable, Sendable, CustomStringConvertible {
    public var device: String
    public var kind: FirewallKind
    public var chain: Chain
    public var action: RuleAction
    /// 1-based, as `nft -a list` and people count them; nil for a policy or a non-rule decision.
    public var ruleIndex: Int?
    public var ruleText: String?
    /// The chain's default policy decided.
    public var defaultPolicy: Bool
    public var explanation: String

    /// `rule 2: udp dport 4789 accept`, `default policy drop`, or what decided.
    public var decidedBy: String {
        if let ruleIndex, let ruleText { return "rule \(ruleIndex): \(ruleText)" }
        if defaultPolicy { return "default policy \(action)" }
        return ruleText ?? kind.displayName
    }

    public var description: String { "\(kind.displayName) \(device) \(chain): \(action) by \(decidedBy) — \(explanation)" }
}
