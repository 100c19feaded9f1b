import PacketWire

/// An address block such as `10.244.0.0/16` or `fd00::/64`: a NetworkPolicy `ipBlock`, a node's pod CIDR, a
/// CNI's pool.
///
/// Host bits are cleared on reading, as `net.ParseCIDR` does for the API server's validation
/// (k8s.io/utils/net `ParseCIDRSloppy`): the e2e test "should enforce except clause while egress access to server
/// in CIDR block" writes `<pod IP>/4` and means the /4 network.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    /// The block as the project's one prefix type (PacketWire's ``IPPrefix``), which does the arithmetic.
    public let prefix: IPPrefix

    /// The network address, host bits zero.
    public var network: IPAddress { prefix.network }
    /// Prefix length in bits: 0...32 for IPv4, 0...128 for IPv6.
    public var length: Int { prefix.length }

    /// Nil when `length` is out of range for the family.
    public init?(_ address: IPAddress, length: Int) {
        guard let prefix = IPPrefix(address: address, length: length) else { return nil }
        self.prefix = prefix
    }

    /// Parses `ADDRESS/LENGTH`; nil when malformed. A bare address is not a CIDR (the API refuses it),
    /// though it is an ``IPPrefix``.
    public init?(_ text: some StringProtocol) {
        guard text.split(separator: "/", omittingEmptySubsequences: false).count == 2,
              let prefix = IPPrefix(text) else { return nil }
        self.prefix = prefix
    }

    /// The block of one address (`/32` or `/128`).
    public init(host address: IPAddress) { prefix = IPPrefix(host: address) }

    public var isIPv6: Bool { prefix.isIPv6 }

    /// Whether `address` lies in the block (never across families).
    public func contains(_ address: IPAddress) -> Bool { prefix.contains(address) }

    /// Whether every address of `other` lies in this block.
    public func contains(_ other: CIDR) -> Bool { prefix.contains(other.prefix) }

    /// Always with its length, as Kubernetes writes a CIDR (`10.0.0.1/32`).
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
