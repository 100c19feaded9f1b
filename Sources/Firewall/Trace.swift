import PacketWire

extension FirewallDevice {
    /// Every check the device would make on `frame` at `hook`, one line each, without changing its
    /// state: the connection state and why, then each rule tried until one matches (with the condition
    /// that failed), or the policy. Call it before ``inspect(_:at:now:)`` to see what inspect will do.
    public func trace(_ frame: UnsafeRawBufferPointer, at hook: Hook, now: UInt64) -> [String] {
        let packet = PacketFields(parsing: frame, vxlanPorts: insidePorts)
        var lines: [String] = []
        switch configuration.kind {
        case .host, .securityGroup, .acl, .stateful:
            if tracker != nil, packet.isNonFirstFragment, let first = fragments.record(for: packet, now: now) {
                lines.append("non-first fragment: follows its first fragment, which was \(first.accepted ? "accepted" : "dropped")")
                return lines
            }
            var state = ConnectionState.untracked
            if let tracker {
                if isExemptFromTracking(packet) {
                    lines.append("conntrack: untracked (notrack)")
                } else {
                    let lookup = tracker.peek(packet, now: now)
                    state = lookup.state
                    lines.append("conntrack: " + conntrackText(lookup))
                }
            }
            if configuration.kind == .securityGroup, state == .established || state == .related {
                lines.append("return traffic of an allowed flow: accept")
                return lines
            }
            guard let chain = configuration.ruleSet(hook.chain) else {
                lines.append("\(hook.chain) chain: no rules, accept")
                return lines
            }
            for (index, rule) in chain.rules.enumerated() {
                if let mismatch = rule.match.firstMismatch(packet, state: state) {
                    lines.append("rule \(index + 1) `\(ruleDescription(rule))`: no match (\(mismatchText(mismatch, packet: packet, state: state)))")
                } else {
                    lines.append("rule \(index + 1) `\(ruleDescription(rule))`: match → \(rule.action)")
                    return lines
                }
            }
            lines.append("no rule matched → \(configuration.kind == .securityGroup ? "default deny" : "policy \(chain.policy)")")
        case .fragmentFilter:
            lines.append(packet.isFragment ? "fragment (offset \(packet.fragmentOffset)\(packet.moreFragments ? ", more follow" : "")); drops \(fragmentWords)" : "not a fragment")
        case .icmpFilter:
            lines.append(packet.isICMP ? "\(describer.icmpName(packet)); drops \(icmpWords)\(configuration.icmpFilter.ratePerSecond.map { " above \(Self.number($0))/s" } ?? "")" : "not ICMP")
        case .dpi:
            let reason = recognise(packet, frame: frame)
            switch reason {
            case .recognised(let name): lines.append("recognised as \(name.uppercased())")
            case .malformed(let name): lines.append("on \(name.uppercased())'s port but not \(name.uppercased())")
            default: lines.append(packet.isNonFirstFragment ? "non-first fragment: follows its first fragment" : "unrecognised protocol")
            }
        case .nat:
            lines.append("source NAT to \(configuration.nat.sourceAddress?.description ?? "the same address"), ports \(configuration.nat.ports)\(configuration.nat.randomFully ? " (random-fully)" : ""), checksum \(configuration.nat.checksum.rawValue)")
        }
        return lines
    }

    func conntrackText(_ lookup: ConntrackLookup) -> String {
        var text = lookup.state.rawValue
        if let key = lookup.key {
            if lookup.exists { text += lookup.isReply ? " (reply direction of \(key.reversed))" : " (entry \(key))" }
            else { text += " (no entry for \(key))" }
        }
        if let expired = lookup.expired {
            text += "; its entry expired after \(Self.duration(expired.timeout)) idle (\(expired.timeoutName))"
        }
        if let reason = lookup.invalidReason { text += ": \(reason)" }
        return text
    }

    func mismatchText(_ condition: MatchCondition, packet: PacketFields, state: ConnectionState) -> String {
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
        case .notVXLAN where !configuration.vxlanAware: return "inner headers: \(configuration.name) is not VXLAN-aware"
        default: return condition.rawValue
        }
    }
}
