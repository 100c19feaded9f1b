import PacketWire

/// Everything that defines one device: its kind, rules per chain, and the options of its kind.
public struct FirewallConfiguration: Hashable, Sendable {
    public var name: String
    public var kind: FirewallKind
    /// Rules per chain. A host chain not given accepts everything; a security group's egress not given
    /// allows all outbound traffic (the cloud default); ACL and stateful firewalls use `transit`.
    public var chains: [Chain: RuleSet] = [:]
    /// Whether the device reads inside VXLAN packets, so rules may match the VNI and inner headers.
    public var vxlanAware = false
    /// UDP ports the device treats as VXLAN when it reads inside.
    public var vxlanPorts: [UInt16] = [4789, 8472]
    public var timeouts = ConntrackTimeouts()
    /// Most connection-tracking (or NAT) entries the device keeps.
    public var tableSize = 65536
    /// Packets exempted from connection tracking (`notrack` in the raw table): their state is untracked.
    public var notrack: [RuleMatch] = []
    public var fragmentFilter = FragmentFilterOptions()
    public var icmpFilter = ICMPFilterOptions()
    public var dpi = DPIOptions()
    public var nat = NATOptions()

    public init(name: String, kind: FirewallKind) {
        self.name = name
        self.kind = kind
    }

    /// The rules that apply at `chain`, with the kind's default when the scenario gave none.
    public func ruleSet(_ chain: Chain) -> RuleSet? {
        if let set = chains[chain] { return set }
        switch (kind, chain) {
        case (.securityGroup, .egress): return RuleSet(rules: [Rule(match: RuleMatch(), action: .accept)], policy: .drop)
        case (.securityGroup, .ingress): return RuleSet(rules: [], policy: .drop)
        case (.acl, .transit), (.stateful, .transit): return RuleSet(rules: [], policy: .drop)
        default: return nil
        }
    }

    /// How sentences name the device: "security group sg-workers".
    public var title: String { "\(kind.displayName) \(name)" }
}
