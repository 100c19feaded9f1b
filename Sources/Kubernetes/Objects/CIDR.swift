import PacketWire

/// An address block such as `10.244.0.0/16` or `fd00::/64`: a NetworkPolicy `ipBlock`, a node's pod CIDR, a
/// CNI's pool.
///
/// Host bits are cleared on reading, as `net.ParseCIDR` does for the API server's validation
/// (k8s.io/utils/net `ParseCIDRSloppy`): the e2e test "should enforce except clause while egress access to server
/// in CIDR block" writes `<pod IP>/4` and means the /4 network.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    /// The network address, host bits zero.
    public let network: IPAddress
    /// Prefix length in bits: 0...32 for IPv4, 0...128 for IPv6.
    public let length: Int

    /// Nil when `length` is out of range for the family.
    public init?(_ address: IPAddress, length: Int) {
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

    /// Parses `ADDRESS/LENGTH`; nil when malformed. A bare address is not a CIDR (the API refuses it).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(parts[0]),
              !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              let length = Int(parts[1]) else { return nil }
        self.init(address, length: length)
    }

    /// The block of one address (`/32` or `/128`).
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

    public var isIPv6: Bool { network.isIPv6 }

    /// Whether `address` lies in the block (never across families).
    @inlinable
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

    /// Whether every address of `other` lies in this block.
    public func contains(_ other: CIDR) -> Bool {
        other.isIPv6 == isIPv6 && other.length >= length && contains(other.network)
    }

    public var description: String { "\(network)/\(length)" }
}

/// An address with the prefix length of its subnet, as an interface carries it: Calico's
/// `projectcalico.org/IPv4Address: 192.168.10.1/24` annotation.
public struct InterfaceAddress: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(parts[0]), let length = Int(parts[1]),
              CIDR(address, length: length) != nil else { return nil }
        self.address = address
        self.prefixLength = length
    }

    /// The subnet the address is on: what Calico's CrossSubnet mode compares.
    public var subnet: CIDR { CIDR(address, length: prefixLength) ?? CIDR(host: address) }

    public var description: String { "\(address)/\(prefixLength)" }
}
