import PacketWire

/// Why a device decided what it did: a stable code (matched by tests and reports), and for a rule its
/// index, for DPI the protocol it named.
///
/// Open, like ``FirewallKind``: the reasons every kind can give are declared here, and each kind declares
/// its own in its file (``DecisionReason/fragmentDropped`` beside ``FragmentFilter``).
public struct DecisionReason: Hashable, Sendable, CustomStringConvertible {
    /// `rule`, `policy`, `fragmentDropped`, `recognised`, ...
    public let code: String
    /// For `rule`: the rule's index (0-based) in its chain.
    public let ruleIndex: Int?
    /// For reasons about a named thing (DPI's protocol): its name.
    public let detail: String?

    public init(code: String, ruleIndex: Int? = nil, detail: String? = nil) {
        self.code = code
        self.ruleIndex = ruleIndex
        self.detail = detail
    }

    /// The rule at this index (0-based) of the chain matched.
    public static func rule(_ index: Int) -> DecisionReason { DecisionReason(code: "rule", ruleIndex: index) }
    /// No rule matched: the chain's policy.
    public static let policy = DecisionReason(code: "policy")
    /// A chain the scenario did not configure: accept.
    public static let noRules = DecisionReason(code: "noRules")
    /// A fragment after the first gets the first fragment's verdict.
    public static let followsFirstFragment = DecisionReason(code: "followsFirstFragment")
    /// The device had nothing to do with the packet (a fragment filter and a whole packet, ...).
    public static let notConcerned = DecisionReason(code: "notConcerned")

    public var description: String {
        if let ruleIndex { return "\(code) \(ruleIndex + 1)" }
        return detail.map { "\(code) \($0)" } ?? code
    }
}

/// A NAT's rewrite of one packet.
public struct AddressRewrite: Hashable, Sendable {
    /// The source was rewritten (a packet leaving the inside); false: the destination (a reply).
    public var outbound: Bool
    public var oldAddress: IPAddress
    public var oldPort: UInt16?
    public var newAddress: IPAddress
    public var newPort: UInt16?
    /// The UDP checksum was zero ("not computed"), so it stayed zero.
    public var checksumWasZero: Bool
    /// The checksum left on the wire is wrong (the offload bug).
    public var checksumBroken: Bool

    public init(outbound: Bool, oldAddress: IPAddress, oldPort: UInt16?, newAddress: IPAddress, newPort: UInt16?,
                checksumWasZero: Bool, checksumBroken: Bool) {
        self.outbound = outbound
        self.oldAddress = oldAddress
        self.oldPort = oldPort
        self.newAddress = newAddress
        self.newPort = newPort
        self.checksumWasZero = checksumWasZero
        self.checksumBroken = checksumBroken
    }
}

/// A device's decision about one packet: the action, the reason, and what it saw, enough to write the
/// explanation later (only drops and traces pay for the sentence).
public struct Decision: Sendable {
    public var action: RuleAction
    public var reason: DecisionReason
    public var hook: Hook
    public var packet: PacketFields
    public var state: ConnectionState
    /// The conntrack lookup, on stateful devices.
    public var conntrack: ConntrackLookup?
    /// What a NAT changed.
    public var rewrite: AddressRewrite?

    public init(action: RuleAction, reason: DecisionReason, hook: Hook, packet: PacketFields,
                state: ConnectionState = .untracked, conntrack: ConntrackLookup? = nil, rewrite: AddressRewrite? = nil) {
        self.action = action
        self.reason = reason
        self.hook = hook
        self.packet = packet
        self.state = state
        self.conntrack = conntrack
        self.rewrite = rewrite
    }

    public var accepted: Bool { action == .accept }
}
