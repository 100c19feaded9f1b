/// The steps of one decision, in words, recorded by the code that decides as it decides (nftables'
/// `nftrace`): the connection state and why, each rule tried with the condition that failed, the rule or
/// policy that decided, what a NAT did.
///
/// Made only for the flow `--explain` follows and handed to ``FirewallDevice/inspect(_:at:now:trace:)``;
/// everywhere else no trace exists and deciding builds no string.
public final class DecisionTrace {
    /// One line per step, in order.
    public private(set) var steps: [String] = []
    /// The device deciding, for steps that name it or its rules; set by ``FirewallDevice`` before it
    /// decides.
    public internal(set) var context: ExplanationContext?

    public init() {}

    /// Adds a step. Call it as `trace?.record(...)`, so that without a trace the text is never built.
    public func record(_ step: String) { steps.append(step) }
}
