import PacketWire

/// host-local IPAM, as the CNI plugin Flannel delegates to (containernetworking/plugins
/// `plugins/ipam/host-local`): each node hands out addresses from its own pod CIDR, walking forward from
/// the last one given, so a freed address is not reused at once (a replaced Deployment pod gets a new one).
/// The network address and .1 (the `cni0` gateway) are never given.
struct HostLocalIPAM {
    let prefix: IPPrefix
    private var nextHostIndex: UInt32 = 2
    /// Addresses StatefulSet pods keep across replacement (sticky), never given to another pod.
    private var reserved: Set<UInt32> = []

    init(prefix: IPPrefix) { self.prefix = prefix }

    /// The next free address, or nil when the CIDR is full.
    /// - Parameters:
    ///   - inUse: whether an address is held by a live pod.
    ///   - sticky: keep the address for this pod across replacement.
    mutating func allocate(inUse: (IPv4Address) -> Bool, sticky: Bool) -> IPv4Address? {
        let usable = UInt32(prefix.size - 1)
        for _ in 2..<max(usable, 3) {
            let candidate = nextHostIndex
            nextHostIndex = candidate + 1 >= usable ? 2 : candidate + 1
            let address = prefix.ipv4Address(candidate)
            if !inUse(address) && !reserved.contains(candidate) {
                if sticky { reserved.insert(candidate) }
                return address
            }
        }
        return nil
    }
}
