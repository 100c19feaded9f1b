import PacketWire

/// One firewall, security group or middlebox placed on the path, with its state.
///
/// The layer that places devices calls ``inspect(_:at:now:trace:)`` with each frame where the device sits
/// and drops the frame when the decision is not `accept`; ``verdict(for:fragmentationCause:)`` turns a
/// decision into the sentence for the report. Passing a ``DecisionTrace`` records the steps of that one
/// decision, for `--explain`. The device reads only the bytes and the virtual time it is given, so a run
/// is repeatable.
public final class FirewallDevice {
    public let configuration: FirewallConfiguration
    /// Where the device sits, for sentences: "node-b", "link node-a↔router".
    public let placement: String
    /// Names for addresses in explanations.
    public var names: AddressBook
    /// The kind's options with the device's state, behind one type-erased reference.
    private let core: any InspectorCore
    /// UDP ports read as VXLAN, fixed at creation so inspecting reads no configuration.
    private let insidePorts: [UInt16]
    /// Packets seen and dropped (or rejected).
    public private(set) var packetsSeen = 0
    public private(set) var packetsDropped = 0

    /// - Parameters:
    ///   - configuration: the device's kind, rules and options.
    ///   - placement: where it sits, as sentences name it.
    ///   - names: names for addresses.
    ///   - seed: seeds the device's random choices (a NAT's ports).
    public init(configuration: FirewallConfiguration, placement: String, names: AddressBook = AddressBook(), seed: UInt64 = 1) {
        self.configuration = configuration
        self.placement = placement
        self.names = names
        insidePorts = configuration.insidePorts
        core = Self.makeCore(configuration.inspector, seed: seed)
    }

    private static func makeCore<Inspector: PacketInspector>(_ inspector: Inspector, seed: UInt64) -> any InspectorCore {
        InspectorBox(inspector, state: inspector.makeState(seed: seed))
    }

    /// Live connection-tracking or NAT entries (0 for a stateless device).
    public var conntrackEntries: Int { core.entryCount }

    /// Decides about one frame at `hook`, updating the device's state. A NAT rewrites the frame in place.
    /// - Parameters:
    ///   - frame: the Ethernet frame as it is at this point of the path.
    ///   - hook: where the device sees it.
    ///   - now: virtual time in nanoseconds.
    ///   - trace: records the steps of this decision (for `--explain`); nil, the default, records nothing.
    /// - Returns: the decision; anything but `accept` means the packet goes no further.
    public func inspect(_ frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64, trace: DecisionTrace? = nil) -> Decision {
        let packet = PacketFields(parsing: UnsafeRawBufferPointer(frame), vxlanPorts: insidePorts)
        trace?.context = context(fragmentationCause: nil)
        let decision = core.inspect(packet, frame: frame, at: hook, now: now, trace: trace)
        packetsSeen += 1
        if !decision.accepted { packetsDropped += 1 }
        return decision
    }

    /// The decision explained: device, rule or policy, and the sentence.
    /// - Parameters:
    ///   - decision: what ``inspect(_:at:now:trace:)`` returned.
    ///   - fragmentationCause: for a fragment, why the packet was fragmented, when the caller knows
    ///     (which link, what MTU); replaces the generic clause.
    public func verdict(for decision: Decision, fragmentationCause: String? = nil) -> Verdict {
        core.explain(decision, in: context(fragmentationCause: fragmentationCause))
    }

    private func context(fragmentationCause: String?) -> ExplanationContext {
        ExplanationContext(configuration: configuration, placement: placement, names: names,
                           fragmentationCause: fragmentationCause)
    }
}

/// A kind's options and a device's state of that kind, behind one class-bound existential, so the device
/// calls its kind without knowing it.
private protocol InspectorCore: AnyObject {
    func inspect(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64,
                 trace: DecisionTrace?) -> Decision
    func explain(_ decision: Decision, in context: ExplanationContext) -> Verdict
    var entryCount: Int { get }
}

private final class InspectorBox<Inspector: PacketInspector>: InspectorCore {
    let inspector: Inspector
    var state: Inspector.State

    init(_ inspector: Inspector, state: Inspector.State) {
        self.inspector = inspector
        self.state = state
    }

    func inspect(_ packet: PacketFields, frame: UnsafeMutableRawBufferPointer, at hook: Hook, now: UInt64,
                 trace: DecisionTrace?) -> Decision {
        inspector.inspect(packet, frame: frame, at: hook, now: now, state: &state, trace: trace)
    }

    func explain(_ decision: Decision, in context: ExplanationContext) -> Verdict {
        inspector.explain(decision, in: context)
    }

    var entryCount: Int { inspector.entryCount(state) }
}
