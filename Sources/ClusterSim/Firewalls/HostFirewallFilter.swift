import Firewall
import PacketWire

/// A node's own firewall (nftables, iptables, firewalld) at the netfilter hooks: its input chain at INPUT,
/// forward chain at FORWARD, output chain at OUTPUT, in the filter table's place (after NAT).
final class HostFirewallFilter: PacketFilter {
    let device: FirewallID

    init(device: FirewallID) { self.device = device }

    func filter(_ buffer: PacketBuffer, _ tag: inout PacketTag, at hook: NetfilterHook, in node: ClusterNode) -> Bool {
        switch hook {
        case .input:
            node.network.passFirewall(device, .input, buffer, &tag, at: "\(node.name) input chain", rejectFrom: node.place)
        case .forward:
            node.network.passFirewall(device, .forward, buffer, &tag, at: "\(node.name) forward chain", rejectFrom: node.place)
        case .output:
            node.network.passFirewall(device, .output, buffer, &tag, at: "\(node.name) output chain")
        case .prerouting, .postrouting:
            true
        }
    }
}
