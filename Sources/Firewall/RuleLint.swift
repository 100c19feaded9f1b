import PacketWire

/// A rule that can never match, and why.
public struct RuleWarning: Hashable, Sendable, CustomStringConvertible {
    public var chain: Chain
    /// 0-based index in the chain.
    public var ruleIndex: Int
    public var message: String
    public var description: String { message }
}

/// Finds rules that can never match: empty ranges, contradictory conditions, inner conditions on a
/// device that cannot read inside VXLAN, connection states the device never assigns, and rules shadowed
/// by an earlier rule that matches everything they match.
public enum RuleLint {
    /// The warnings for any device: its kind's ``PacketInspector/lint(_:)``.
    public static func warnings(for configuration: FirewallConfiguration) -> [RuleWarning] { configuration.warnings }

    /// The warnings for a rule-based kind's rules.
    /// - Parameters:
    ///   - inspector: the kind's options (its rules).
    ///   - configuration: the device, for its name and whether it reads inside VXLAN.
    public static func warnings<Inspector: RuleBasedInspector>(for inspector: Inspector, of configuration: FirewallConfiguration) -> [RuleWarning] {
        var warnings: [RuleWarning] = []
        for chain in Chain.allCases {
            guard let set = inspector.rules[chain] else { continue }
            for (index, rule) in set.rules.enumerated() {
                let name = "rule \(index + 1) (`\(rule.description)`) of \(configuration.title)'s \(chain) chain"
                if let reason = neverMatches(rule.match, inspector: inspector, configuration: configuration) {
                    warnings.append(RuleWarning(chain: chain, ruleIndex: index, message: "\(name) can never match: \(reason)"))
                    continue
                }
                if let earlier = set.rules[..<index].firstIndex(where: { $0.match.covers(rule.match) && neverMatches($0.match, inspector: inspector, configuration: configuration) == nil }) {
                    let other = set.rules[earlier]
                    let effect = other.action == rule.action ? "it is redundant" : "its \(rule.action) never happens"
                    warnings.append(RuleWarning(chain: chain, ruleIndex: index,
                        message: "\(name) can never match: rule \(earlier + 1) (`\(other.description)`) before it matches every packet it would, so \(effect)"))
                }
            }
        }
        return warnings
    }

    /// Why a match is empty, or nil when some packet could meet it.
    static func neverMatches<Inspector: RuleBasedInspector>(_ match: RuleMatch, inspector: Inspector,
                                                           configuration: FirewallConfiguration) -> String? {
        let ranges: [(String, Bool)] = [
            ("source port range", match.sourcePorts?.contains { $0.isEmpty } ?? false),
            ("destination port range", match.destinationPorts?.contains { $0.isEmpty } ?? false),
            ("inner source port range", match.innerSourcePorts?.contains { $0.isEmpty } ?? false),
            ("inner destination port range", match.innerDestinationPorts?.contains { $0.isEmpty } ?? false),
            ("length range", match.length?.isEmpty ?? false),
            ("VNI range", match.vni?.contains { $0.isEmpty } ?? false),
        ]
        if let (what, _) = ranges.first(where: { $0.1 }) { return "its \(what) is empty (the low end is above the high end)" }
        if match.usesInnerFields && !configuration.vxlanAware {
            return "it matches inner headers, but \(configuration.name) is not vxlanAware: it sees only the outer headers (UDP between the VTEPs), so every pod flow between two nodes looks the same to it. Mark the device vxlanAware, or enforce the policy where the packet is decapsulated (a NetworkPolicy on the node)"
        }
        let hasPorts = match.sourcePorts != nil || match.destinationPorts != nil
        if let proto = match.protocol, hasPorts, proto != .udp && proto != .tcp {
            return "it asks for ports, which \(proto.name) does not have"
        }
        if let proto = match.protocol, match.icmpType != nil || match.icmpCode != nil, proto != .icmp && proto != .icmpv6 {
            return "it asks for an ICMP type or code with protocol \(proto.name)"
        }
        if hasPorts && (match.icmpType != nil || match.icmpCode != nil) {
            return "it asks for both ports and an ICMP type"
        }
        if match.fragment == .nonFirst && (match.needsTransportHeader) {
            return "a non-first fragment carries no transport header, so it has no ports or ICMP type to match"
        }
        if match.fragment == .nonFirst && match.usesInnerFields {
            return "a non-first fragment does not carry the VXLAN header"
        }
        if let length = match.length, length.upper < 20 {
            return "no IP packet is shorter than 20 bytes"
        }
        if let states = match.states {
            if states.isEmpty { return "it lists no connection state" }
            if !Inspector.matchesConnectionState { return "\(configuration.title) keeps no connection state" }
            if states == .untracked && (inspector.connectionTracking?.notrack.isEmpty ?? true) { return "nothing is exempt from tracking (no notrack rules), so no packet is untracked" }
        }
        if let source = match.source, let destination = match.destination,
           !source.contains(where: { from in destination.contains { $0.isIPv6 == from.isIPv6 } }) {
            return "its source and destination are of different address families"
        }
        return nil
    }
}
