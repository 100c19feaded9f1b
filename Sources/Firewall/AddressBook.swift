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

extension AddressBook {
    /// A frame in a network engineer's words, with these names: "UDP 8472 (Flannel VXLAN) from node-a
    /// (10.0.0.1) to node-b (10.0.0.2)".
    /// - Parameters:
    ///   - frame: an Ethernet frame.
    ///   - vxlanPorts: UDP ports whose payload is described as VXLAN with its inner packet.
    public func describe(_ frame: UnsafeRawBufferPointer, vxlanPorts: [UInt16] = []) -> String {
        PacketDescription(names: self).describe(PacketFields(parsing: frame, vxlanPorts: vxlanPorts))
    }
}
