/// One rule: conditions and an action, and an optional comment the scenario gave it.
public struct Rule: Hashable, Sendable, CustomStringConvertible {
    public var match: RuleMatch
    public var action: RuleAction
    public var comment: String?

    public init(match: RuleMatch, action: RuleAction, comment: String? = nil) {
        self.match = match
        self.action = action
        self.comment = comment
    }

    /// The rule as nft lists it: `udp dport 4789 accept`.
    public var description: String {
        let conditions = match.text
        let base = conditions.isEmpty ? action.rawValue : "\(conditions) \(action.rawValue)"
        return comment.map { "\(base) comment \"\($0)\"" } ?? base
    }
}

/// A chain: rules tried in order, first match wins, then the policy.
public struct RuleSet: Hashable, Sendable {
    public var rules: [Rule]
    /// What happens to a packet no rule matches.
    public var policy: RuleAction

    public init(rules: [Rule] = [], policy: RuleAction) {
        self.rules = rules
        self.policy = policy
    }
}
