import PacketWire

extension FirewallDevice {
    /// The decision explained: device, rule or policy, and the sentence.
    /// - Parameters:
    ///   - decision: what ``inspect(_:at:now:)`` returned.
    ///   - fragmentationCause: for a fragment, why the packet was fragmented, when the caller knows
    ///     (which link, what MTU); replaces the generic clause.
    public func verdict(for decision: Decision, fragmentationCause: String? = nil) -> Verdict {
        let chain = decision.hook.chain
        var ruleIndex: Int?
        var ruleText: String?
        var defaultPolicy = false
        switch decision.reason {
        case .rule(let index):
            ruleIndex = index + 1
            ruleText = configuration.ruleSet(chain).flatMap { index < $0.rules.count ? ruleDescription($0.rules[index]) : nil }
        case .policy:
            defaultPolicy = true
        default:
            ruleText = mechanism(decision)
        }
        return Verdict(device: configuration.name, kind: configuration.kind, chain: chain, action: decision.action,
                       ruleIndex: ruleIndex, ruleText: ruleText, defaultPolicy: defaultPolicy,
                       explanation: sentence(decision, fragmentationCause: fragmentationCause))
    }

    /// A rule as the device's own console shows it: nft syntax, or a cloud console's for a security group.
    public func ruleDescription(_ rule: Rule) -> String {
        configuration.kind == .securityGroup ? "allow " + securityGroupText(rule.match, ingress: true) : rule.description
    }

    /// What decided, for decisions that are not a rule or a policy.
    func mechanism(_ decision: Decision) -> String? {
        switch decision.reason {
        case .returnTraffic: "return traffic of an allowed flow"
        case .followsFirstFragment: "verdict of the first fragment"
        case .conntrackTableFull: "conntrack table full"
        case .natTableFull: "NAT table full"
        case .fragmentDropped: "drops \(fragmentWords)"
        case .icmpDropped: "drops \(icmpWords)"
        case .icmpRateLimited: "ICMP rate limit"
        case .recognised(let name): "recognised as \(name)"
        case .unrecognised: "unrecognised protocol"
        case .malformed(let name): "not valid \(name)"
        case .unseenFirstFragment: "fragment without its first"
        case .translated: "source NAT"
        case .noRules: "no rules"
        case .notConcerned, .rule, .policy: nil
        }
    }

    var describer: PacketDescription { PacketDescription(names: names) }

    /// "node-b's input chain (firewalld)", "security group sg-workers on node-b", "ACL acl-core on link a↔b".
    var whereText: String { "\(configuration.title) on \(placement)" }

    func chainText(_ chain: Chain) -> String {
        switch configuration.kind {
        case .host: "\(placement)'s \(chain) chain (\(configuration.name))"
        default: whereText
        }
    }

    var fragmentWords: String {
        switch configuration.fragmentFilter.drop {
        case .any: "all IP fragments"
        case .first: "first fragments"
        case .nonFirst: "non-first fragments"
        case .none: "whole packets"
        }
    }

    var icmpWords: String {
        configuration.icmpFilter.types.map { types in "ICMP of type " + types.map(String.init).joined(separator: ", ") } ?? "all ICMP"
    }

    /// The one sentence for a decision.
    func sentence(_ decision: Decision, fragmentationCause: String? = nil) -> String {
        let packet = decision.packet
        let what = capitalised(describer.describe(packet))
        let chain = decision.hook.chain
        let verb = decision.action == .reject ? "rejected (an ICMP error goes back to the sender)" : "dropped"
        switch decision.reason {
        case .rule(let index):
            guard let set = configuration.ruleSet(chain), index < set.rules.count else { return what }
            let rule = set.rules[index]
            let outcome = decision.accepted ? "accepted" : verb
            return "\(what) matched rule \(index + 1) of \(chainText(chain)), `\(ruleDescription(rule))`, and was \(outcome)"
                + stateNote(decision, leading: "; ")
        case .policy:
            return policySentence(decision, what: what) + stateNote(decision, leading: ". ") + nearMisses(decision)
        case .noRules:
            return "\(what) passed \(placement)'s \(chain) chain, which has no rules"
        case .returnTraffic:
            return "\(what) is return traffic (\(decision.state)) of a flow \(configuration.title) allowed, so it passes without a rule"
        case .followsFirstFragment:
            return "\(what) gets the verdict \(whereText) gave its first fragment: \(decision.accepted ? "accepted" : verb)"
        case .conntrackTableFull:
            return "\(what) opens a new flow, but \(configuration.title)'s conntrack table is full (\(configuration.tableSize) entries, all established, none to evict), so it was dropped (Linux logs \"nf_conntrack: table full, dropping packet\")"
        case .natTableFull:
            return "\(what) needs a new translation, but \(configuration.title)'s NAT table is full (\(configuration.tableSize) entries), so it was dropped"
        case .fragmentDropped:
            let cause = fragmentationCause ?? "the packet was fragmented because it was larger than the MTU of a link on its path"
            return "\(what) was dropped by \(whereText), which drops \(fragmentWords); \(cause)"
        case .icmpDropped, .icmpRateLimited:
            var text = decision.reason == .icmpDropped
                ? "\(what) was dropped by \(whereText), which drops \(icmpWords)"
                : "\(what) was dropped by \(whereText): it exceeds the ICMP rate limit of \(Self.number(configuration.icmpFilter.ratePerSecond ?? 0))/s (burst \(configuration.icmpFilter.burst))"
            if let mtu = packet.reportedMTU {
                text += "; \(names.shortLabel(packet.destination)) never learns that the path MTU is \(mtu), so its packets with DF set that are larger than \(mtu) bytes keep vanishing (a PMTU black hole)"
            }
            return text
        case .recognised(let name):
            return "\(what) was recognised by \(whereText) as \(name.uppercased())"
        case .unrecognised:
            return unrecognisedSentence(packet, what: what)
        case .malformed(let name):
            return "\(what) uses \(name.uppercased())'s port, but \(whereText) found no \(name.uppercased()) header in it, so it was dropped as malformed"
        case .unseenFirstFragment:
            return "\(what) was dropped by \(whereText): it never saw the datagram's first fragment, so it cannot tell what protocol this is"
        case .translated:
            return translationSentence(decision, what: what)
        case .notConcerned:
            return "\(what) passed \(whereText) untouched"
        }
    }

    func policySentence(_ decision: Decision, what: String) -> String {
        let chain = decision.hook.chain
        let rules = configuration.ruleSet(chain)?.rules ?? []
        let policy = configuration.ruleSet(chain)?.policy ?? .accept
        switch configuration.kind {
        case .securityGroup:
            let direction = chain == .egress ? "outbound" : "inbound"
            let allowed = rules.map { securityGroupText($0.match, ingress: chain != .egress) }
            let summary = allowed.isEmpty ? "no \(direction) traffic at all" : Self.list(allowed) + " only"
            let verb = chain == .egress ? "is not allowed out by" : "is not allowed by"
            var text = "\(what) \(verb) security group \(configuration.name) on \(placement); its \(direction) rules allow \(summary)"
            guard isVXLAN(decision.packet) else { return text }
            let port = decision.packet.destinationPort
            if let near = rules.firstIndex(where: { $0.match.firstMismatch(decision.packet, state: decision.state) == .destinationPort }),
               let allowed = rules[near].match.destinationPorts {
                let ports = allowed.map(\.description).joined(separator: ", ")
                text += ". Rule \(near + 1) would allow it on port \(ports): the overlay and the group disagree about the VXLAN port (Linux and Flannel default to 8472, IANA's is 4789), so open UDP \(port) or move the overlay to \(ports)"
            } else {
                text += ". The group is stateful, but VXLAN's traffic the other way is not a reply: each VTEP sends from its own hashed source port to port \(port), so each direction needs its own rule"
            }
            return text
        case .host:
            let ruleCount = rules.isEmpty ? "which has no rules" : "and matched none of its \(rules.count) rule\(rules.count == 1 ? "" : "s")"
            let rejectNote = policy == .reject ? ", so the sender gets ICMP host prohibited (\"No route to host\")" : ""
            return "\(what) reached \(placement)'s \(chain) chain (\(configuration.name)) \(ruleCount); the chain's policy is \(policy)\(rejectNote)"
        default:
            if rules.isEmpty { return "\(what) met \(whereText), which has no rules; its default policy is \(policy)" }
            return "\(what) matched none of the \(rules.count) rule\(rules.count == 1 ? "" : "s") of \(whereText); its default policy is \(policy)"
        }
    }

    /// Why the connection state is what it is, when that is the point.
    func stateNote(_ decision: Decision, leading: String) -> String {
        guard let lookup = decision.conntrack else { return "" }
        let sentenceStart = leading.hasPrefix(".")
        func start(_ text: String) -> String { leading + (sentenceStart ? capitalised(text) : text) }
        if let expired = lookup.expired, decision.state == .new {
            return start("it counts as new: the conntrack entry for this flow (\(expired.key)) expired after \(Self.duration(expired.timeout)) without traffic (\(expired.timeoutName))")
        }
        if decision.state == .invalid, let reason = lookup.invalidReason {
            return start("conntrack marks it invalid: \(reason)")
        }
        if decision.state == .new, !decision.accepted, configuration.kind == .stateful, let key = lookup.key, !lookup.exists {
            return start("it is a new connection: conntrack has no entry for \(key) or its reply")
        }
        return ""
    }

    /// Rules that would have taken the packet but for one condition worth naming.
    func nearMisses(_ decision: Decision) -> String {
        guard let set = configuration.ruleSet(decision.hook.chain) else { return "" }
        var notes: [String] = []
        for (index, rule) in set.rules.enumerated() where rule.action == .accept {
            let mismatch = rule.match.firstMismatch(decision.packet, state: decision.state)
            var withoutState = rule.match
            withoutState.states = nil
            if mismatch == .state, withoutState != RuleMatch(), rule.match.matches(decision.packet, state: .established) {
                notes.append("rule \(index + 1) (`\(ruleDescription(rule))`) would accept it only as part of an established flow")
            } else if mismatch == .ports, decision.packet.isNonFirstFragment {
                notes.append("a non-first fragment carries no UDP or TCP header, so rule \(index + 1) (`\(ruleDescription(rule))`) cannot match it")
            } else if mismatch == .notVXLAN || (mismatch != nil && rule.match.usesInnerFields && !configuration.vxlanAware) {
                notes.append("rule \(index + 1) matches inner headers, which \(configuration.name) cannot see")
            }
            if notes.count == 2 { break }
        }
        return notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")"
    }

    func unrecognisedSentence(_ packet: PacketFields, what: String) -> String {
        let known = configuration.dpi.protocols.map(\.description)
        let knownText = known.isEmpty ? "nothing" : Self.list(known)
        var text = "\(what) is not a protocol \(whereText) recognises (it knows \(knownText)), so it was dropped as unrecognised \(packet.isIP ? packet.protocol.name : "traffic")"
        if let inner = packet.encapsulated, inner.flags & VXLANPacket.vniFlag != 0 {
            let vxlanPorts = configuration.dpi.protocols.filter { $0.signature == .vxlan }.flatMap(\.ports)
            let knownPorts = vxlanPorts.isEmpty ? "does not know VXLAN at all" : "knows VXLAN only on UDP " + vxlanPorts.map(String.init).joined(separator: ", ")
            text += ". The payload is valid VXLAN (VNI \(inner.vni)), but the box \(knownPorts), so VXLAN on \(packet.destinationPort) is just unrecognised UDP to it"
        }
        return text
    }

    func translationSentence(_ decision: Decision, what: String) -> String {
        guard let rewrite = decision.rewrite else { return "\(what) passed \(whereText)" }
        func end(_ address: IPAddress, _ port: UInt16?) -> String { port.map { "\(address):\($0)" } ?? address.description }
        let field = rewrite.outbound ? "source" : "destination"
        var text = "\(whereText) rewrote the \(field) \(end(rewrite.oldAddress, rewrite.oldPort)) → \(end(rewrite.newAddress, rewrite.newPort)) of \(describer.describe(decision.packet))"
        guard rewrite.outbound else { return text + ", the reply to a translated flow" }
        if rewrite.checksumBroken {
            text += ". Modelling the 2020 checksum-offload bug (kubernetes#88986), it updated the UDP checksum for the pseudo-header only, as if the NIC would finish it, so the checksum on the wire no longer covers the new source port: the receiver will drop the packet as \"UDP: bad checksum\" (workarounds: noudpcsum, or ethtool -K flannel.1 tx-checksum-ip-generic off; fixed in Linux 5.7 by ea64d8d6c675)"
        } else if isVXLAN(decision.packet) {
            text += ". It is still delivered: VXLAN does not care about the outer source port — the receiving VTEP keys on the VNI and the inner MAC address, and the source port is only entropy for ECMP hashing (RFC 7348 §5)"
            if rewrite.oldAddress != rewrite.newAddress {
                text += "; nor about the outer source address, since a VTEP with static FDB entries accepts VXLAN from any address"
            }
            if rewrite.checksumWasZero { text += "; the UDP checksum is 0 (noudpcsum), so there is nothing to get wrong" }
        }
        return text
    }

    /// A security-group rule as a cloud console lists it: `UDP 4789 from 10.0.0.0/16`.
    func securityGroupText(_ match: RuleMatch, ingress: Bool) -> String {
        var text: String
        let ports = match.destinationPorts.map { $0.map(\.description).joined(separator: ", ") }
        switch match.protocol {
        case .some(let proto):
            let name = proto.name == "unknown" ? "protocol \(proto.rawValue)" : proto.name
            if let ports { text = "\(name) \(ports)" } else if proto == .icmp || proto == .icmpv6 {
                text = match.icmpType.map { "\(name) type \($0)" } ?? "all \(name)"
            } else { text = "all \(name)" }
        case .none:
            text = ports.map { "TCP and UDP \($0)" } ?? "all traffic"
        }
        let peer = ingress ? match.source : match.destination
        if let peer { text += (ingress ? " from " : " to ") + peer.map { names[$0.network].map { name in "\(name)" } ?? $0.description }.joined(separator: ", ") }
        return text
    }

    func isVXLAN(_ packet: PacketFields) -> Bool {
        packet.protocol == .udp && packet.hasTransportHeader && configuration.vxlanPorts.contains(packet.destinationPort)
    }

    func capitalised(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

    /// `A, B and C`.
    static func list(_ items: [String]) -> String {
        guard items.count > 1, let last = items.last else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + last
    }

    /// `30 s`, `1.5 s`, `2 min`.
    static func duration(_ nanoseconds: UInt64) -> String {
        let seconds = Double(nanoseconds) / 1e9
        if seconds >= 86400, seconds.truncatingRemainder(dividingBy: 86400) == 0 { return "\(Int(seconds / 86400)) days" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60)) min" }
        return number(seconds) + " s"
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(Double(Int((value * 1000).rounded())) / 1000)
    }
}
