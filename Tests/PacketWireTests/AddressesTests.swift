import PacketWire
import Testing

@Suite("Address text forms")
struct AddressesTests {
    @Test(arguments: [
        ("192.0.2.1", UInt32(0xc000_0201)), ("0.0.0.0", 0), ("255.255.255.255", 0xffff_ffff), ("10.244.1.7", 0x0af4_0107),
    ])
    func ipv4(text: String, value: UInt32) {
        #expect(IPv4Address(text) == IPv4Address(rawValue: value))
        #expect(IPv4Address(rawValue: value).description == text)
    }

    /// Signs are not digits: `UInt8("+1")` parses, so the address parsers must check the characters.
    @Test(arguments: ["+1.2.3.4", "1.2.3.-0", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.4 ", "１.2.3.4"])
    func malformedIPv4(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test(arguments: [
        ("2001:db8:77::1", "2001:db8:77::1"), ("::", "::"), ("::1", "::1"), ("FF02::1:FF00:B01", "ff02::1:ff00:b01"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ("fe80::ff:fe00:b01%eth0", "fe80::ff:fe00:b01"),
    ])
    func ipv6(text: String, canonical: String) {
        #expect(IPv6Address(text)?.description == canonical)
    }

    @Test(arguments: ["+1::", "::-1", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7::8"])
    func malformedIPv6(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func mac() {
        #expect(MACAddress("02:00:00:00:0B:01") == MACAddress(0x02, 0x00, 0x00, 0x00, 0x0b, 0x01))
        #expect(MACAddress("02-00-00-00-0b-01")?.description == "02:00:00:00:0b:01")
        #expect(MACAddress.broadcast.isBroadcast && MACAddress.broadcast.isMulticast)
    }

    @Test(arguments: [
        "+2:00:00:00:0b:01", "02:00:00:00:0b:-1", "02:00:00:00:0b", "02:00:00:00:0b:011", "02:00:00-00:0b:01",
    ])
    func malformedMAC(text: String) {
        #expect(MACAddress(text) == nil)
    }
}
