import ClusterSim
import PacketWire

/// The addresses ClusterSim gives what it builds, so a testbed run can be laid frame by frame beside a
/// simulated one. The formulas are ClusterSim's (Cluster.init, Cluster.addPod, Underlay.init); they are
/// internal there, so they are repeated here and pinned by a test that compares them with a simulated
/// run's captures (TestbedPlanTests).
enum SimulatorAddressing {
    /// The `index`-th node's underlay interface (eth0).
    static func nodeUnderlayMAC(_ index: Int) -> MACAddress { MACAddress(rawValue: 0x0200_0000_0000 | 0x0A_0000 | UInt64(index + 1)) }
    /// The `index`-th node's VTEP (flannel.1).
    static func vtepMAC(_ index: Int) -> MACAddress { MACAddress(rawValue: 0x0200_0000_0000 | 0xAA_0000 | UInt64(index + 1)) }
    /// The `index`-th node's pod gateway (cni0).
    static func gatewayMAC(_ index: Int) -> MACAddress { MACAddress(rawValue: 0x0200_0000_0000 | 0xC0_0000 | UInt64(index + 1)) }
    /// The `index`-th router, on every interface.
    static func routerMAC(_ index: Int) -> MACAddress { MACAddress(rawValue: 0x0200_0000_FE00 | UInt64(index + 1)) }
    /// A pod's eth0: 0a:58 and its IPv4 address, as the CNI bridge plugin derives it.
    static func podMAC(_ address: IPv4Address) -> MACAddress { MACAddress(rawValue: 0x0A58_0000_0000 | UInt64(address.rawValue)) }
    /// The address the `index`-th router sends ICMP errors from: 198.51.100.0/24 (TEST-NET-2, RFC 5737).
    static func routerAddress(_ index: Int) -> IPv4Address { IPv4Address(198, 51, 100, UInt8(truncatingIfNeeded: index + 1)) }
    /// Over an IPv6 underlay ClusterSim's routers have no IPv6 address; the testbed gives them one in the
    /// documentation prefix (RFC 3849).
    static func routerAddressV6(_ index: Int) -> IPv6Address {
        IPv6Address(high: 0x2001_0db8_ffff_0000, low: UInt64(index + 1))
    }

    /// FNV-1a, as ClusterSim's `stableHash`.
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// The source port (UDP, TCP) or ICMP echo identifier ClusterSim gives a flow's sender
    /// (Simulation.startTraffic): an ephemeral port drawn from the seed, the flow's and the pod's names.
    static func sourcePort(seed: UInt64, flow: String, pod: String) -> UInt16 {
        var generator = SplitMix64(seed: seed ^ stableHash(flow + pod))
        return UInt16(32768 + generator.next() % 28231)
    }
}
