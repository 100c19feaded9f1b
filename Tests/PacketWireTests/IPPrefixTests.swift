import PacketWire
import Testing

@Suite("IP prefixes (RFC 4632, RFC 4291 §2.3)")
struct IPPrefixTests {
    @Test("parse, normalise, print", arguments: [
        ("10.244.0.0/16", "10.244.0.0/16", 16), ("10.244.1.7/24", "10.244.1.0/24", 24), ("0.0.0.0/0", "0.0.0.0/0", 0),
        ("192.0.2.1", "192.0.2.1", 32), ("192.0.2.1/32", "192.0.2.1", 32), ("fd00::/64", "fd00::/64", 64),
        ("fd00::1:2/112", "fd00::1:0/112", 112), ("2001:db8::1", "2001:db8::1", 128), ("::/0", "::/0", 0),
    ])
    func parse(text: String, description: String, length: Int) throws {
        let prefix = try #require(IPPrefix(text))
        #expect(prefix.description == description)
        #expect(prefix.length == length)
        #expect(IPPrefix(prefix.description) == prefix)
    }

    @Test("malformed text is refused", arguments: [
        "10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8", "fd00::/129",
        "node-b", "10.0.0.0/8/8", "", "/8", "10.0.0.0/0008",
    ])
    func malformed(text: String) {
        #expect(IPPrefix(text) == nil)
    }

    /// ClusterSim's former `IPv4Prefix` restated: `IPPrefix` replaced it for pod CIDRs, so it must answer
    /// as it did.
    struct ClusterSimPrefix {
        var network: UInt32
        var length: Int
        static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << (32 - length) }
        init(_ address: UInt32, _ length: Int) { self.length = length; network = address & Self.mask(length) }
        func contains(_ address: UInt32) -> Bool { address & Self.mask(length) == network }
        func overlaps(_ other: ClusterSimPrefix) -> Bool {
            let shorter = min(length, other.length)
            return network & Self.mask(shorter) == other.network & Self.mask(shorter)
        }
        func address(_ index: UInt32) -> UInt32 { network &+ index }
        var size: UInt64 { 1 << UInt64(32 - length) }
    }

    @Test func answersAsClusterSimsFormerIPv4Prefix() throws {
        var random = SplitMix64(seed: 4632)
        for _ in 0..<20_000 {
            let (a, b) = (random.uint32(), random.uint32())
            // Prefixes that share leading bits, so overlaps are common.
            let bShared = random.bool() ? a ^ (random.uint32() >> UInt32(Int.random(in: 0...31, using: &random))) : b
            let (la, lb) = (Int.random(in: 0...32, using: &random), Int.random(in: 0...32, using: &random))
            let reference = ClusterSimPrefix(a, la), other = ClusterSimPrefix(bShared, lb)
            let prefix = try #require(IPPrefix(address: .v4(IPv4Address(rawValue: a)), length: la))
            let otherPrefix = try #require(IPPrefix(address: .v4(IPv4Address(rawValue: bShared)), length: lb))
            #expect(prefix.network == .v4(IPv4Address(rawValue: reference.network)))
            #expect(prefix.length == reference.length)
            #expect(prefix.size == reference.size)
            #expect(prefix.overlaps(otherPrefix) == reference.overlaps(other))
            let probe = random.bool() ? random.uint32() : bShared
            #expect(prefix.contains(IPv4Address(rawValue: probe)) == reference.contains(probe))
            #expect(prefix.contains(IPAddress.v4(IPv4Address(rawValue: probe))) == reference.contains(probe))
            let index = UInt32(truncatingIfNeeded: random.next() % reference.size)
            #expect(prefix.address(UInt64(index)) == .v4(IPv4Address(rawValue: reference.address(index))))
            #expect(prefix.ipv4Address(index) == IPv4Address(rawValue: reference.address(index)))
            #expect(prefix.ipv4Network == IPv4Address(rawValue: reference.network))
            #expect(prefix.address(reference.size) == nil)
            #expect(prefix.description == (la == 32 ? "\(IPv4Address(rawValue: reference.network))"
                                                    : "\(IPv4Address(rawValue: reference.network))/\(la)"))
        }
    }

    /// IPv6 containment bit by bit: an address is inside when its first `length` bits equal the network's.
    @Test func ipv6ContainmentBitByBit() throws {
        var random = SplitMix64(seed: 4291)
        func bit(_ address: IPv6Address, _ index: Int) -> Bool {
            index < 64 ? (address.high >> UInt64(63 - index)) & 1 == 1 : (address.low >> UInt64(127 - index)) & 1 == 1
        }
        for _ in 0..<5_000 {
            let base = random.ipv6Address()
            let length = Int.random(in: 0...128, using: &random)
            let prefix = try #require(IPPrefix(address: .v6(base), length: length))
            // A probe that agrees with the base for a random number of leading bits.
            let agree = Int.random(in: 0...128, using: &random)
            let noise = random.ipv6Address()
            let (maskHigh, maskLow): (UInt64, UInt64) = agree <= 64
                ? (agree == 0 ? 0 : UInt64.max << UInt64(64 - agree), 0)
                : (UInt64.max, agree == 128 ? UInt64.max : UInt64.max << UInt64(128 - agree))
            let probe = IPv6Address(high: base.high & maskHigh | noise.high & ~maskHigh,
                                    low: base.low & maskLow | noise.low & ~maskLow)
            let expected = (0..<length).allSatisfy { bit(probe, $0) == bit(base, $0) }
            #expect(prefix.contains(probe) == expected)
            #expect(!prefix.contains(IPv4Address(rawValue: random.uint32())))
            #expect(prefix.contains(try #require(IPPrefix(address: .v6(probe), length: 128))) == expected)
        }
    }

    @Test func sizesAndAddresses() throws {
        let pods = try #require(IPPrefix("10.244.1.0/24"))
        #expect(pods.size == 256 && pods.hostBits == 8 && !pods.isIPv6)
        #expect(pods.address(1) == IPAddress("10.244.1.1"))
        #expect(pods.address(255) == IPAddress("10.244.1.255") && pods.address(256) == nil)
        #expect(pods.lastAddress == IPAddress("10.244.1.255"))
        #expect(pods.address(1)?.ipv4 == IPv4Address(10, 244, 1, 1))
        #expect(pods.address(1)?.ipv6 == nil)
        let all = try #require(IPPrefix("0.0.0.0/0"))
        #expect(all.size == 1 << 32 && all.address(0xFFFF_FFFF) == IPAddress("255.255.255.255"))
        let v6 = try #require(IPPrefix("fd00::/64"))
        #expect(v6.size == UInt64.max && v6.hostBits == 64)
        #expect(v6.address(0x1234) == IPAddress("fd00::1234"))
        #expect(v6.address(UInt64.max) == IPAddress("fd00::ffff:ffff:ffff:ffff"))
        #expect(v6.lastAddress == IPAddress("fd00::ffff:ffff:ffff:ffff"))
        let small = try #require(IPPrefix("fd00::100/120"))
        #expect(small.size == 256 && small.address(256) == nil && small.address(255) == IPAddress("fd00::1ff"))
        #expect(IPPrefix(host: .v6(IPv6Address("::1")!)).isHost)
    }

    @Test func overlapsAndNesting() throws {
        func p(_ text: String) throws -> IPPrefix { try #require(IPPrefix(text)) }
        #expect(try p("10.244.0.0/16").overlaps(p("10.244.3.0/24")))
        #expect(try p("10.244.3.0/24").overlaps(p("10.244.0.0/16")))
        #expect(try !p("10.244.3.0/24").overlaps(p("10.244.4.0/24")))
        #expect(try p("10.244.0.0/16").contains(p("10.244.3.0/24")))
        #expect(try !p("10.244.3.0/24").contains(p("10.244.0.0/16")))
        #expect(try !p("0.0.0.0/0").overlaps(p("::/0")), "never across families")
        #expect(try p("fd00::/8").overlaps(p("fd12:3456::/32")))
    }
}
