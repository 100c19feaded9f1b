import PacketWire
import Testing
@_spi(FastPath) import VXLAN

/// A vxlan device made with `external` (`VXLAN_F_COLLECT_METADATA`, as Cilium makes `cilium_vxlan`):
/// each packet's VNI comes from its tunnel key, and any VNI is received (`vxlan_vs_find_vni` looks up VNI 0
/// for such a socket). A device with an `id` keeps sending its own and refusing others.
@Suite("VXLAN external (collect-metadata) devices")
struct ExternalDeviceTests {
    static let inner = ReceiveStrictnessTests.inner

    func endpoint(external: Bool, vni: UInt32 = 42) throws -> TunnelEndpoint {
        let words = (external ? ["external"] : ["id", "\(vni)"]) + ["local", "192.0.2.1", "remote", "192.0.2.2", "dstport", "8472"]
        return TunnelEndpoint(configuration: try TunnelConfiguration(ipLinkArguments: words))
    }

    @Test("`ip link ... type vxlan external` needs no id and prints as `vxlan external`; without either the id is still required")
    func arguments() throws {
        let external = try TunnelConfiguration(ipLinkArguments: ["external", "dstport", "8472"])
        #expect(external.collectMetadata)
        #expect(external.ipLinkDescription.hasPrefix("vxlan external "))
        #expect(throws: TunnelConfiguration.ArgumentError.self) { try TunnelConfiguration(ipLinkArguments: ["dstport", "8472"]) }
    }

    @Test("the tunnel key's VNI is sent by an external device and ignored by one with an id", arguments: [true, false])
    func transmit(external: Bool) throws {
        var device = try endpoint(external: external)
        let buffer = PacketBuffer(copying: Self.inner)
        try device.encapsulate(buffer, overrides: EncapsulationOverrides(vni: 258))
        let vni = buffer.bytes.withUnsafeBytes { $0.getInteger(at: 46, as: UInt32.self) >> 8 }
        #expect(vni == (external ? 258 : 42))
    }

    @Test("an external device receives every VNI on both receive paths and hands it up; an id device refuses a VNI not its own")
    func receive() throws {
        var sender = try endpoint(external: true)
        let sent = PacketBuffer(copying: Self.inner)
        try sender.encapsulate(sent, overrides: EncapsulationOverrides(vni: 0xABCDE))
        let frame = sent.bytes
        let external = try endpoint(external: true)
        #expect(external.decapsulateFastPathOnly(PacketBuffer(copying: frame))?.vni == 0xABCDE)
        #expect(try external.decapsulateLayeredPathOnly(PacketBuffer(copying: frame)).vni == 0xABCDE)
        let fixed = try endpoint(external: false)
        #expect(fixed.decapsulateFastPathOnly(PacketBuffer(copying: frame)) == nil)
        #expect(throws: DecapsulationError.self) { try fixed.decapsulateLayeredPathOnly(PacketBuffer(copying: frame)) }
    }
}
