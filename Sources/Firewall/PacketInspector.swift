import PacketWire

/// One kind of firewall or middlebox. A value of the type is the kind's options, as a scenario gives them
/// (a security group's rules, an ICMP filter's types and rate); ``State`` is what a placed device of the
/// kind remembers between packets (connection tracking, a token bucket, a NAT table). The protocol asks
/// for the three things every kind does: decide about a packet, explain a decision in a sentence, and find
/// rules that can never match.
///
/// The decision records each step it takes into the ``DecisionTrace`` it is given, as nftables' `nftrace`
/// does: `--explain` shows what decided, never a second walk over the rules beside it. Without a trace
/// nothing is recorded and no string is built (record through optional chaining, `trace?.record(...)`,
/// which does not evaluate its argument when there is no trace).
///
/// A new kind is one file: a type conforming to this protocol (the rule-based kinds conform to
/// ``RuleBasedInspector`` and share its engine), plus the entry that reads its options from a scenario.
/// ``FirewallDevice`` places it: it parses the frame once, keeps the state, counts, and builds the
/// ``ExplanationContext``.
public protocol PacketInspector: Hashable, Sendable {
    /// What a device of this kind remembers between packets; `Void` when nothing.
    associatedtype State

    /// The kind's name in scenario files and sentences.
    static var kind: FirewallKind { get }

    /// Whether the device reads inside VXLAN packets even when not marked `vxlanAware` (a DPI box must, to
    /// recognise VXLAN).
    static var readsInsideVXLAN: Bool { get }

    /// A new device's empty state.
    /// - Parameter seed: seeds any random choice the device makes (a NAT's ports), so runs repeat.
    func makeState(seed: UInt64) -> State

    /// Decides about one packet, updating `state`. A NAT rewrites `frame` in place.
    /// - Parameters:
    ///   - packet: the frame's fields, read once by the device.
    ///   - frame: the Ethernet frame as it is at this point of the path.
    ///   - hook: where the device sees it.
    ///   - now: virtual time in nanoseconds.
    ///   - state: the device's memory.
    ///   - trace: where to record each step, for the one flow `--explain` follows; nil otherwise.
    /// - Returns: the decision; anything but `accept` means the packet goes no further.
    func inspect(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64,
                 state: inout State, trace: DecisionTrace?) -> Decision

    /// The decision explained: what decided (rule, policy or mechanism) and the sentence.
    /// - Parameters:
    ///   - decision: what ``inspect(_:frame:at:now:state:trace:)`` returned.
    ///   - context: the device's name, place and the names of addresses.
    func explain(_ decision: Decision, in context: ExplanationContext) -> Verdict

    /// Rules that can never match, each with the reason.
    /// - Parameter configuration: the device this kind is the options of.
    func lint(_ configuration: FirewallConfiguration) -> [RuleWarning]

    /// Live connection-tracking (or NAT) entries in `state`.
    func entryCount(_ state: State) -> Int
}

extension PacketInspector {
    public static var readsInsideVXLAN: Bool { false }
    public func lint(_ configuration: FirewallConfiguration) -> [RuleWarning] { [] }
    public func entryCount(_ state: State) -> Int { 0 }
}

extension PacketInspector where State == Void {
    public func makeState(seed: UInt64) {}
}
