import PacketWire

/// What a network engineer calls the ports an overlay's traffic uses.
public enum WellKnownPorts {
    /// The service usually on `port` for `proto`, or nil.
    public static func name(_ port: UInt16, protocol proto: IPProtocol) -> String? {
        if proto == .udp {
            switch port {
            case 4789: return "VXLAN"
            case 8472: return "Flannel VXLAN"
            case 6081: return "Geneve"
            case 53: return "DNS"
            case 123: return "NTP"
            case 51820: return "WireGuard"
            case 8285: return "Flannel UDP backend"
            default: return nil
            }
        }
        if proto == .tcp {
            switch port {
            case 22: return "SSH"
            case 53: return "DNS"
            case 80: return "HTTP"
            case 179: return "BGP"
            case 443: return "HTTPS"
            case 2379, 2380: return "etcd"
            case 6443: return "Kubernetes API"
            case 10250: return "kubelet"
            default: return nil
            }
        }
        return nil
    }
}
