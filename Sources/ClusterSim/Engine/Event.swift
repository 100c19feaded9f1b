import PacketWire

/// Something that happens at a moment of virtual time.
enum Event {
    /// A sender's generator fires: its next UDP datagram or echo request, or its TCP connection opens.
    case senderTick(SenderID)
    /// A TCP connection's retransmission timer; stale when the connection re-armed it since.
    case tcpTimer(SenderID, generation: Int)
    /// A frame reaches the far end of one direction of a link.
    case arrive(PacketBuffer, PacketTag, at: PlaceID, via: DirectionID)
    /// A frame crosses a veth into a pod (same-node delivery, and the last hop of every delivery).
    case vethDelivery(PacketBuffer, PacketTag, to: PodID)
    /// A host's reassembly timer (`ipfrag_time` after a datagram's first fragment): give up on what is
    /// still incomplete (net/ipv4/ip_fragment.c `ip_expire`).
    case reassemblyTimeout(ReassemblyHost)
    /// An attacker's crafted stream sends its next packet.
    case injection(AttackID)
    /// A scenario event for the control plane (deleting a pod).
    case controlPlane(EventAction)
}
