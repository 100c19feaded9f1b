import PacketWire

/// What a kind needs to put a decision into words: the device (name, title, settings), where it sits,
/// names for addresses, and, for a fragment, why the packet was fragmented when the caller knows.
/// ``FirewallDevice`` makes one for ``PacketInspector/explain(_:in:)`` and for the steps of a
/// ``DecisionTrace``.
public struct ExplanationContext: Sendable {
    public let configuration: FirewallConfiguration
    /// Where the device sits: "node-b", "link node-a↔router".
    public let placement: String
    public let names: AddressBook
    /// Why a fragment's packet was fragmented (which link, what MTU), when the caller knows.
    public let fragmentationCause: String?

    public init(configuration: FirewallConfiguration, placement: String, names: AddressBook, fragmentationCause: String? = nil) {
        self.configuration = configuration
        self.placement = placement
        self.names = names
        self.fragmentationCause = fragmentationCause
    }

    /// "security group sg-workers".
    public var title: String { configuration.title }

    /// "security group sg-workers on node-b", "ACL acl-core on link a↔b".
    public var whereText: String { "\(title) on \(placement)" }

    /// A packet in a network engineer's words: "UDP 8472 (Flannel VXLAN) from node-a (10.0.0.1) to ...".
    public func describe(_ packet: PacketFields) -> String { PacketDescription(names: names).describe(packet) }

    /// The packet as the subject of a sentence: ``describe(_:)`` with a capital letter.
    public func subject(_ packet: PacketFields) -> String { Self.capitalised(describe(packet)) }

    /// "ICMP fragmentation needed (next-hop MTU 1400)".
    public func icmpName(_ packet: PacketFields) -> String { PacketDescription(names: names).icmpName(packet) }

    /// Whether the packet is UDP to one of the device's VXLAN ports.
    public func isVXLAN(_ packet: PacketFields) -> Bool {
        packet.protocol == .udp && packet.hasTransportHeader && configuration.vxlanPorts.contains(packet.destinationPort)
    }

    /// The verdict for `decision`.
    /// - Parameters:
    ///   - ruleIndex: the deciding rule, 0-based; nil when no rule decided.
    ///   - ruleText: the rule as the device shows it, or what decided when no rule did ("drops all ICMP").
    ///   - defaultPolicy: the chain's policy decided.
    ///   - sentence: the explanation.
    public func verdict(_ decision: Decision, ruleIndex: Int? = nil, ruleText: String?, defaultPolicy: Bool = false,
                        sentence: String) -> Verdict {
        Verdict(device: configuration.name, kind: configuration.kind, chain: decision.hook.chain, action: decision.action,
                ruleIndex: ruleIndex.map { $0 + 1 }, ruleText: ruleText, defaultPolicy: defaultPolicy, explanation: sentence)
    }

    /// "dropped", or "rejected (an ICMP error goes back to the sender)".
    public static func stopped(_ action: RuleAction) -> String {
        action == .reject ? "rejected (an ICMP error goes back to the sender)" : "dropped"
    }

    public static func capitalised(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

    /// `A, B and C`.
    public static func list(_ items: [String]) -> String {
        guard items.count > 1, let last = items.last else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + last
    }

    /// `30 s`, `1.5 s`, `2 min`, `5 days`.
    public static func duration(_ nanoseconds: UInt64) -> String {
        let seconds = Double(nanoseconds) / 1e9
        if seconds >= 86400, seconds.truncatingRemainder(dividingBy: 86400) == 0 { return "\(Int(seconds / 86400)) days" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60)) min" }
        return number(seconds) + " s"
    }

    /// `5`, `0.5`: at most three decimals, none for a whole number.
    public static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(Double(Int((value * 1000).rounded())) / 1000)
    }
}
