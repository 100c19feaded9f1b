import PacketWire

/// Everything that defines one device: its name, whether it reads inside VXLAN, and its kind with the
/// kind's options (``inspector``, a ``PacketInspector`` value: a ``SecurityGroup`` with its rules, an
/// ``ICMPFilter`` with its types).
public struct FirewallConfiguration: Hashable, Sendable {
    public var name: String
    /// Whether the device reads inside VXLAN packets, so rules may match the VNI and inner headers.
    public var vxlanAware = false
    /// UDP ports the device treats as VXLAN when it reads inside.
    public var vxlanPorts: [UInt16] = [4789, 8472]
    /// The kind and its options.
    public var inspector: any PacketInspector

    /// - Parameters:
    ///   - name: the device's name in the scenario.
    ///   - inspector: its kind with the kind's options.
    public init(name: String, _ inspector: any PacketInspector) {
        self.name = name
        self.inspector = inspector
    }

    public var kind: FirewallKind { type(of: inspector).kind }

    /// How sentences name the device: "security group sg-workers".
    public var title: String { "\(kind.displayName) \(name)" }

    /// UDP ports whose payload the device reads as VXLAN: its own, when it looks inside packets.
    public var insidePorts: [UInt16] { vxlanAware || type(of: inspector).readsInsideVXLAN ? vxlanPorts : [] }

    /// Rules that can never match, each with the reason (``PacketInspector/lint(_:)``).
    public var warnings: [RuleWarning] { inspector.lint(self) }

    public static func == (a: FirewallConfiguration, b: FirewallConfiguration) -> Bool {
        a.name == b.name && a.vxlanAware == b.vxlanAware && a.vxlanPorts == b.vxlanPorts
            && AnyHashable(a.inspector) == AnyHashable(b.inspector)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(vxlanAware)
        hasher.combine(vxlanPorts)
        hasher.combine(AnyHashable(inspector))
    }
}
