import PacketWire
import Testing
@testable import ClusterSim

@Suite("The packet path's address table")
struct IPv4AddressTableTests {
    /// Random inserts, overwrites and removals (with growth and backward-shift deletion on the way) give
    /// the same answers as a Dictionary, for addresses that were and were never in the table.
    @Test(arguments: [UInt64(1), 7, 42])
    func agreesWithDictionary(seed: UInt64) {
        var table = IPv4AddressTable<Int>()
        var reference: [IPv4Address: Int] = [:]
        var random = SplitMix64(seed: seed)
        // A small key space, so inserts hit present keys and removals hit absent ones.
        let addresses = (0..<300).map { _ in IPv4Address(rawValue: UInt32(truncatingIfNeeded: random.next())) }
        for step in 0..<20_000 {
            let address = addresses[Int(random.next() % UInt64(addresses.count))]
            if random.next() % 3 == 0 {
                table[address] = nil
                reference[address] = nil
            } else {
                table[address] = step
                reference[address] = step
            }
            #expect(table.count == reference.count)
        }
        for address in addresses {
            #expect(table[address] == reference[address])
            #expect(table.contains(address) == (reference[address] != nil))
        }
        for _ in 0..<1000 {
            let absent = IPv4Address(rawValue: UInt32(truncatingIfNeeded: random.next()))
            #expect(table[absent] == reference[absent])
        }
    }

    /// Keys that all want the same slot (equal top bits after the multiplication are likeliest for
    /// addresses a pod CIDR apart) still each find their own value after removals in the middle of the run.
    @Test func clusteredKeysSurviveRemoval() {
        var table = IPv4AddressTable<Int>()
        let addresses = (0..<64).map { IPv4Address(rawValue: 0x0AF4_0000 | UInt32($0) << 8) }
        for (index, address) in addresses.enumerated() { table[address] = index }
        for index in stride(from: 0, to: 64, by: 3) { table[addresses[index]] = nil }
        for (index, address) in addresses.enumerated() {
            #expect(table[address] == (index % 3 == 0 ? nil : index))
        }
        #expect(table.count == 64 - 22)
    }
}
