import PacketWire

/// The two halves of ``TunnelEndpoint/decapsulate(_:)`` on their own, for the fuzz target that checks
/// they agree on every input (Fuzz/Targets/FuzzTargets.swift). Nothing in the product uses them.
extension TunnelEndpoint {
    /// The straight-line fast path alone: nil, with the buffer unchanged, for whatever it declines.
    @_spi(FastPath)
    public func decapsulateFastPathOnly(_ buffer: PacketBuffer) -> DecapsulatedPacket? {
        decapsulateUntaggedIPv4(buffer)
    }

    /// The layer-by-layer path alone, as ``decapsulate(_:)`` takes it for what the fast path declines.
    @_spi(FastPath)
    public func decapsulateLayeredPathOnly(_ buffer: PacketBuffer) throws(DecapsulationError) -> DecapsulatedPacket {
        try decapsulateCheckingEachLayer(buffer)
    }
}
