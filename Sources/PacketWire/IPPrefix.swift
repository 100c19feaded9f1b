// IP prefixes (RFC 4632 §3.1 for IPv4 CIDR notation, RFC 4291 §2.3 for IPv6): the one prefix type of the
// project. Pod CIDRs (`10.244.1.0/24`), Service ranges, firewall rule addresses (`fd00::/64`, or a bare
// address for one host) and routes all use it.

/// An IPv4 or IPv6 prefix such as `10.244.0.0/16` or `fd00::/64`; host bits are always clear.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    /// The network address: the first address of the prefix, host bits cleared.
    public let network: IPAddress
    /// Prefix length in bits: 0–32 for IPv4, 0–128 for IPv6.
    public let length: Int

    /// The prefix of `length` bits holding `address`; host bits are cleared (`10.244.1.7/24` is
    /// `10.244.1.0/24`). Nil when the length is out of range for the family.
    @inlinable
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

    /// Parses `ADDRESS/LENGTH` (`10.244.0.0/16`, `fd00::/64`) or a bare address, which is a host prefix
    /// (`/32` or `/128`); nil when malformed. The length is decimal digits only (no sign, no spaces).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = IPAddress(parts[0]) else { return nil }
        var length = address.isIPv6 ? 128 : 32
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy(\.isASCIIDigit),
                  let parsed = Int(parts[1]) else { return nil }
            length = parsed
        }
        self.init(address: address, length: length)
    }

    /// The host prefix of one address (`/32` or `/128`).
    @inlinable
    public init(host address: IPAddress) {
        network = address
        length = address.isIPv6 ? 128 : 32
    }

    @inlinable
    static func mask32(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }

    @inlinable
    static func mask128(_ length: Int) -> (UInt64, UInt64) {
        if length <= 64 { return (length == 0 ? 0 : UInt64.max << UInt64(64 - length), 0) }
        return (UInt64.max, length == 128 ? UInt64.max : UInt64.max << UInt64(128 - length))
    }

    @inlinable public var isIPv6: Bool { network.isIPv6 }
    /// The family's address width: 32 or 128.
    @inlinable public var maximumLength: Int { isIPv6 ? 128 : 32 }
    /// Bits left for hosts: `maximumLength - length`.
    @inlinable public var hostBits: Int { maximumLength - length }
    /// A prefix of one address.
    @inlinable public var isHost: Bool { length == maximumLength }

    /// How many addresses the prefix holds: 2^hostBits, saturating at `UInt64.max` for IPv6 prefixes of
    /// /64 or shorter (use ``hostBits`` where the exact figure matters).
    @inlinable public var size: UInt64 { hostBits >= 64 ? UInt64.max : 1 << UInt64(hostBits) }

    /// Whether `address` lies in the prefix; never across families.
    @inlinable
    public func contains(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let v4): contains(v4)
        case .v6(let v6): contains(v6)
        }
    }

    /// Whether the IPv4 `address` lies in the prefix (false for an IPv6 prefix).
    @inlinable
    public func contains(_ address: IPv4Address) -> Bool {
        guard case .v4(let network) = network else { return false }
        return address.rawValue & Self.mask32(length) == network.rawValue
    }

    /// Whether the IPv6 `address` lies in the prefix (false for an IPv4 prefix).
    @inlinable
    public func contains(_ address: IPv6Address) -> Bool {
        guard case .v6(let network) = network else { return false }
        let (high, low) = Self.mask128(length)
        return address.high & high == network.high && address.low & low == network.low
    }

    /// Whether every address of `other` lies in this prefix.
    @inlinable
    public func contains(_ other: IPPrefix) -> Bool {
        other.isIPv6 == isIPv6 && other.length >= length && contains(other.network)
    }

    /// Whether the two prefixes share an address: one contains the other (prefixes never overlap
    /// partially). False across families.
    @inlinable
    public func overlaps(_ other: IPPrefix) -> Bool { contains(other) || other.contains(self) }

    /// The `index`-th address of the prefix, counting the network address as 0 (`10.244.1.0/24`'s
    /// address 1 is `10.244.1.1`); nil when `index` is not below ``size``.
    @inlinable
    public func address(_ index: UInt64) -> IPAddress? {
        switch network {
        case .v4(let v4):
            guard index < size else { return nil }
            return .v4(IPv4Address(rawValue: v4.rawValue | UInt32(truncatingIfNeeded: index)))
        case .v6(let v6):
            guard hostBits >= 64 || index < size else { return nil }
            return .v6(IPv6Address(high: v6.high, low: v6.low | index))
        }
    }

    /// The network address of an IPv4 prefix, for code that has checked the family once where the prefix
    /// was read (a node's pod CIDR is IPv4 by the scenario's rules); `0.0.0.0` for an IPv6 prefix.
    @inlinable
    public var ipv4Network: IPv4Address { network.ipv4 ?? .any }

    /// The `index`-th address of an IPv4 prefix (``address(_:)`` without the family's optional), wrapping
    /// within 32 bits; `0.0.0.0`-based for an IPv6 prefix. For prefixes checked to be IPv4 where they were read.
    @inlinable
    public func ipv4Address(_ index: UInt32) -> IPv4Address { IPv4Address(rawValue: ipv4Network.rawValue &+ index) }

    /// The last address of the prefix (the IPv4 directed broadcast address of a subnet).
    @inlinable
    public var lastAddress: IPAddress {
        switch network {
        case .v4(let v4):
            return .v4(IPv4Address(rawValue: v4.rawValue | ~Self.mask32(length)))
        case .v6(let v6):
            let (high, low) = Self.mask128(length)
            return .v6(IPv6Address(high: v6.high | ~high, low: v6.low | ~low))
        }
    }

    /// `10.244.0.0/16`, `fd00::/64`; a host prefix as its bare address, as nft writes one.
    public var description: String { isHost ? network.description : "\(network)/\(length)" }
}
