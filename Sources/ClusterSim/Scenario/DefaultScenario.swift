extension Scenario {
    /// The scenario `overlay-sim run` uses when given none: three Flannel nodes behind a router, two
    /// Deployments and a StatefulSet, a Service, cross-node TCP, UDP and ping, and one underlay link
    /// narrower than the overlay expects. With `df inherit` on Flannel's routed VTEP this is what Linux
    /// does to it: a PMTU black hole toward node-c with no filter anywhere (node-a learns the path MTU
    /// from the router but refuses its own DF packets; forwarding ignores the learned MTU unless
    /// `net.ipv4.ip_forward_use_pmtu=1`), while everything to node-b and every small packet gets through.
    public static let defaultYAML = """
    name: default
    description: "3 Flannel nodes behind a router, a Service, TCP/UDP/ping across nodes; df inherit and a narrow link to node-c: a PMTU black hole on Linux (the router's ICMP reaches node-a, no pod hears of it), as pmtu-routed-black-hole shows with its fixes"
    seed: 7
    cluster:
      overlay:
        vni: 1
        dstport: 8472
        mtu: 1450
        df: inherit
        fdb: static
      nodes:
        - {name: node-a, address: 192.168.10.1, podCIDR: 10.244.0.0/24}
        - {name: node-b, address: 192.168.10.2, podCIDR: 10.244.1.0/24}
        - {name: node-c, address: 192.168.10.3, podCIDR: 10.244.2.0/24}
    underlay:
      routers: [tor]
      links:
        - {between: [node-a, tor], latency: 20us, bandwidth: 10Gbps, mtu: 1500}
        - {between: [node-b, tor], latency: 20us, bandwidth: 10Gbps, mtu: 1500}
        # node-c sits behind a tunnel with a smaller MTU than the overlay's 1450 + 50 bytes assume: full-size
        # TCP segments to node-c's pods black-hole (df inherit, routed VTEP, ip_forward_use_pmtu=0).
        - {between: [node-c, tor], latency: 200us, bandwidth: 1Gbps, mtu: 1400}
    workloads:
      - {kind: Deployment, name: client, replicas: 2, labels: {app: client}, nodes: [node-a]}
      - {kind: Deployment, name: web, replicas: 3, labels: {app: web}, nodes: [node-b, node-c]}
      - {kind: StatefulSet, name: db, replicas: 2, labels: {app: db}, nodes: [node-c]}
    services:
      - name: web
        clusterIP: 10.96.0.10
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080, protocol: TCP}]
    traffic:
      - {name: http-to-web, from: {selector: {app: client}}, to: {service: web}, protocol: tcp, size: 100000, start: 1ms}
      - {name: sql-to-db, from: {selector: {app: client}}, to: db-0, protocol: tcp, size: 50000, port: 5432, start: 2ms}
      - {name: metrics-udp, from: {selector: {app: client}}, to: db-1, protocol: udp, size: 512, count: 200, rate: 2000/s, port: 8125}
      - {name: ping-db, from: {selector: {app: client}}, to: db-1, protocol: icmp, size: 56, count: 20, rate: 100/s}
    events:
      - {at: 40ms, delete: db-1}
    captures: {underlay: true, vtep: true, pods: true}
    """
}
