import PacketWire

/// One firewall, security group or middlebox, with its state: connection tracking, the fragment
/// verdicts it remembers, its ICMP token bucket, its NAT table.
///
/// The layer that places devices calls ``inspect(_:at:now:)`` with each frame where the device sits and
/// drops the frame when the decision is not `accept`; ``verdict(for:)`` turns a decision into the
/// sentence for the report, and ``trace(_:at:now:)`` lists every rule met, for `--explain`. The device
/// reads only the bytes and the virtual time it is given, so a run is repeatable.
public final class FirewallDevice {
    public let configuration: FirewallConfiguration
    /// Where the device sits, for sentences: "node-b", "link node-a↔router".
    public let placement: String
    /// Names for addresses in explanations.
    public var names: AddressBook
    var tracker: ConnectionTracker?
    var fragments = FragmentCache()
    var icmpBucket: TokenBucket?
    var nat: NATTable
    /// Packets seen and dropped (or rejected).
    public private(set) var packetsSeen = 0
    public private(set) var packetsDropped = 0

    /// - Parameters:
    ///   - configuration: the device's kind, rules and options.
    ///   - placement: where it sits, as sentences name it.
    ///   - names: names for addresses.
    ///   - seed: seeds the NAT's random port choice.
    public init(configuration: FirewallConfiguration, placement: String, names: AddressBook = AddressBook(), seed: UInt64 = 1) {
        self.configuration = configuration
        self.placement = placement
        self.names = names
        if configuration.kind.isStateful {
            tracker = ConnectionTracker(capacity: configuration.tableSize, timeouts: configuration.timeouts)
        }
        if configuration.kind == .icmpFilter, let rate = configuration.icmpFilter.ratePerSecond {
            icmpBucket = TokenBucket(rate: rate, burst: configuration.icmpFilter.burst)
        }
        nat = NATTable(capacity: configuration.tableSize, seed: seed)
    }

    /// Live connection-tracking entries (0 for a stateless device).
    public var conntrackEntries: Int { tracker?.count ?? 0 }

    /// UDP ports read as VXLAN: the device's, when it looks inside packets.
    var insidePorts: [UInt16] { configuration.vxlanAware || configuration.kind == .dpi ? configuration.vxlanPorts : [] }

    // MARK: - Inspection

    /// Decides about one frame at `hook`, updating the device's state. A NAT rewrites the frame in place.
    /// - Parameters:
    ///   - frame: the Ethernet frame as it is at this point of the path.
    ///   - hook: where the device sees it.
    ///   - now: virtual time in nanoseconds.
    /// - Returns: the decision; anything but `accept` means the packet goes no further.
    public func inspect(_ frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64) -> Decision {
        let packet = PacketFields(parsing: UnsafeRawBufferPointer(frame), vxlanPorts: insidePorts)
        let decision: Decision
        switch configuration.kind {
        case .host, .securityGroup, .acl, .stateful:
            decision = filter(packet, at: hook, now: now)
        case .fragmentFilter:
            let drops = packet.isIP && configuration.fragmentFilter.drop.matches(packet)
            decision = Decision(action: drops ? .drop : .accept, reason: drops ? .fragmentDropped : .notConcerned,
                                hook: hook, packet: packet)
        case .icmpFilter:
            decision = filterICMP(packet, at: hook, now: now)
        case .dpi:
            decision = classify(packet, frame: UnsafeRawBufferPointer(frame), at: hook, now: now)
        case .nat:
            decision = translate(packet, frame: frame, at: hook, now: now)
        }
        packetsSeen += 1
        if !decision.accepted { packetsDropped += 1 }
        return decision
    }

    /// Host firewalls, security groups, ACLs and stateful firewalls: conntrack, then rules.
    func filter(_ packet: PacketFields, at hook: Hook, now: UInt64) -> Decision {
        if tracker != nil, packet.isNonFirstFragment, let first = fragments.record(for: packet, now: now) {
            return Decision(action: first.accepted ? .accept : .drop, reason: .followsFirstFragment, hook: hook,
                            packet: packet, state: first.state)
        }
        var lookup: ConntrackLookup?
        var state = ConnectionState.untracked
        if tracker != nil, !isExemptFromTracking(packet) {
            let found = tracker?.classify(packet, now: now)
            lookup = found
            state = found?.state ?? .untracked
            if found?.tableFull == true {
                return Decision(action: .drop, reason: .conntrackTableFull, hook: hook, packet: packet, state: state, conntrack: found)
            }
        }
        let decision = evaluate(packet, state: state, at: hook, conntrack: lookup)
        if decision.accepted, let lookup { tracker?.commit(lookup, packet: packet, now: now) }
        if tracker != nil, packet.moreFragments, packet.fragmentOffset == 0 {
            fragments.remember(packet, accepted: decision.accepted, state: state, now: now, ruleDescription: nil)
        }
        return decision
    }

    /// The rules of the hook's chain, first match wins, then the policy. No state changes.
    func evaluate(_ packet: PacketFields, state: ConnectionState, at hook: Hook, conntrack: ConntrackLookup?) -> Decision {
        if configuration.kind == .securityGroup, state == .established || state == .related {
            return Decision(action: .accept, reason: .returnTraffic, hook: hook, packet: packet, state: state, conntrack: conntrack)
        }
        guard let chain = configuration.ruleSet(hook.chain) else {
            return Decision(action: .accept, reason: .noRules, hook: hook, packet: packet, state: state, conntrack: conntrack)
        }
        for (index, rule) in chain.rules.enumerated() where rule.match.matches(packet, state: state) {
            return Decision(action: rule.action, reason: .rule(index), hook: hook, packet: packet, state: state, conntrack: conntrack)
        }
        return Decision(action: chain.policy, reason: .policy, hook: hook, packet: packet, state: state, conntrack: conntrack)
    }

    func isExemptFromTracking(_ packet: PacketFields) -> Bool {
        guard !configuration.notrack.isEmpty else { return false }
        return configuration.notrack.contains { $0.matches(packet, state: .untracked) }
    }

    /// ICMP filter: drop, or let through at a rate.
    func filterICMP(_ packet: PacketFields, at hook: Hook, now: UInt64) -> Decision {
        let options = configuration.icmpFilter
        guard packet.isICMP, !packet.isNonFirstFragment,
              options.types.map({ $0.contains(packet.icmpType) }) ?? true else {
            return Decision(action: .accept, reason: .notConcerned, hook: hook, packet: packet)
        }
        if icmpBucket != nil {
            let allowed = icmpBucket?.take(now: now) ?? true
            return Decision(action: allowed ? .accept : .drop, reason: allowed ? .notConcerned : .icmpRateLimited,
                            hook: hook, packet: packet)
        }
        return Decision(action: .drop, reason: .icmpDropped, hook: hook, packet: packet)
    }
}
