import PacketWire

/// The cluster's Services as kube-proxy sees them: ClusterIP → Service, and each Service's ready endpoints.
/// A class: fixed once built and read in place per packet (a struct was copied, a retain per table, at each read).
final class ServiceTable {
    let services: [ServiceSpec]
    private let byAddress: IPv4AddressTable<Int>
    private let byName: [String: Int]

    init(_ services: [ServiceSpec]) {
        self.services = services
        var byAddress = IPv4AddressTable<Int>()
        for (index, service) in services.enumerated() { byAddress[service.clusterIP] = index }
        self.byAddress = byAddress
        var byName: [String: Int] = [:]
        for (index, service) in services.enumerated() where byName[service.name] == nil { byName[service.name] = index }
        self.byName = byName
    }

    func service(at address: IPv4Address) -> ServiceSpec? { byAddress[address].map { services[$0] } }
    @inline(__always)
    func isServiceAddress(_ address: IPv4Address) -> Bool { byAddress.contains(address) }
    func service(named name: String) -> ServiceSpec? { byName[name].map { services[$0] } }

    /// The endpoints kube-proxy balances over: pods matching the selector, running now, in name order
    /// (EndpointSlices list ready endpoints; kube-proxy's chains keep their order).
    func endpoints(of service: ServiceSpec, in cluster: Cluster, at time: Nanoseconds) -> [PodID] {
        cluster.pods(matching: service.selector, at: time)
    }
}
