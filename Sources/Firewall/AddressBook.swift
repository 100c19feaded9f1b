import PacketWire

/// Names for addresses, so explanations say "node-b (10.0.0.2)" rather than a bare address. The layer
/// that places firewalls fills it (nodes, routers, pods); the firewall only reads it.
public struct AddressBook: Sendable {
    private var names: [IPAddress: String] = [:]

    public init() {}

    public init(_ names: [IPAddress: String]) { self.names = names }

    public subscript(address: IPAddress) -> String? {
        get { names[address] }
        set { names[address] = newValue }
    }

    /// `node-b (10.0.0.2)`, or the address alone when it has no name.
    public func label(_ address: IPAddress) -> String {
        names[address].map { "\($0) (\(address))" } ?? address.description
    }

    /// The name, or the address when it has none.
    public func shortLabel(_ address: IPAddress) -> String { names[address] ?? address.description }
}
