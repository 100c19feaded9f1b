import PacketWire

/// An IPv4 or IPv6 prefix such as `10.0.0.0/16` or `fd00::/64`, as firewall rules write addresses.
/// A bare address is a host prefix (`/32` or `/128`).
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    /// The network address: host bits are cleared.
    public let network: IPAddress
    /// Prefix length in bits.
    public let length: Int

    /// Builds a prefix from an address and a length; host bits are cleared. Nil when the length is out
    /// of range for the family.
    public init?(address: IPAddress, length: Int) {
        switch address {
        case .v4(let v4):
            guard (0...32).contains(length) else { return nil }
            network = .v4(IPv4Address(rawValue: v4.rawValue & Self.mask32(length)))
        case .v6(let v6):
            guard (0...128).contains(length) else { return nil }
            let (high, low) = Self.mask128(length)
            network = .v6(IPv6Address(high: v6.high & high, low: v6.low & low))
        }
        self.length = length
    }

    /// Parses `ADDRESS/LENGTH` or a bare address; nil when malformed.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = IPAddress(parts[0]) else { return nil }
        let fullLength = address.isIPv6 ? 128 : 32
        var length = fullLength
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isWholeNumber }),
                  let parsed = Int(parts[1]) else { return nil }
            length = parsed
        }
        self.init(address: address, length: length)
    }

    /// A host prefix for one address.
    public init(host address: IPAddress) {
        network = address
        length = address.isIPv6 ? 128 : 32
    }

    static func mask32(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }

    static func mask128(_ length: Int) -> (UInt64, UInt64) {
        if length <= 64 { return (length == 0 ? 0 : UInt64.max << UInt64(64 - length), 0) }
        return (UInt64.max, length == 128 ? UInt64.max : UInt64.max << UInt64(128 - length))
    }

    public var isIPv6: Bool { network.isIPv6 }
    public var isHost: Bool { length == (isIPv6 ? 128 : 32) }

    /// Whether `address` lies in the prefix (never across families).
    public func contains(_ address: IPAddress) -> Bool {
        switch (network, address) {
        case let (.v4(network), .v4(address)):
            return address.rawValue & Self.mask32(length) == network.rawValue
        case let (.v6(network), .v6(address)):
            let (high, low) = Self.mask128(length)
            return address.high & high == network.high && address.low & low == network.low
        default:
            return false
        }
    }

    /// Whether every address of `other` lies in this prefix.
    public func contains(_ other: IPPrefix) -> Bool {
        other.network.isIPv6 == network.isIPv6 && other.length >= length && contains(other.network)
    }

    public var description: String { isHost ? network.description : "\(network)/\(length)" }
}

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
