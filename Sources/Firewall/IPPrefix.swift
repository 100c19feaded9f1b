import PacketWire

// `IPPrefix` itself is PacketWire's (Sources/PacketWire/IPPrefix.swift), the project's one prefix type;
// this file keeps what rules do with lists of them.

extension Array where Element == IPPrefix {
    /// Whether any prefix of the list holds `address`.
    func containsAddress(_ address: IPAddress) -> Bool {
        for prefix in self where prefix.contains(address) { return true }
        return false
    }

    /// Whether every prefix of `other` lies inside some prefix of this list.
    func covers(_ other: [IPPrefix]) -> Bool {
        other.allSatisfy { inner in contains { $0.contains(inner) } }
    }

    /// `10.0.0.1` or `{ 10.0.0.1, 10.0.0.2 }`, as nft writes a set.
    var ruleText: String { count == 1 ? self[0].description : "{ " + map(\.description).joined(separator: ", ") + " }" }
}
