/// The name of a kind of device as scenario files write it (`security-group`) and as sentences call it
/// (`security group`).
///
/// Open, as SwiftNIO's protocol numbers are: each kind declares its own beside its code
/// (``SecurityGroup/kind``), so a new middlebox brings its name with it instead of editing a list.
public struct FirewallKind: Hashable, Sendable, CustomStringConvertible {
    /// The name in scenario files and in `report.json`: `host`, `security-group`, `icmp-filter`.
    public let rawValue: String
    /// How a sentence names a device of this kind: "security group sg-workers".
    public let displayName: String

    public init(_ rawValue: String, displayName: String) {
        self.rawValue = rawValue
        self.displayName = displayName
    }

    public var description: String { rawValue }
}
