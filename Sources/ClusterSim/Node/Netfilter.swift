import PacketWire

/// The five places netfilter lets code see an IPv4 packet on a Linux node (include/uapi/linux/netfilter.h,
/// `NF_INET_PRE_ROUTING` ... `NF_INET_POST_ROUTING`): PREROUTING as a packet enters the IP layer, INPUT
/// for the node itself, FORWARD for what it routes on, OUTPUT for what it sends itself, POSTROUTING on the
/// way out.
enum NetfilterHook: String, CaseIterable, CustomStringConvertible {
    case prerouting, input, forward, output, postrouting
    var description: String { rawValue }
}

/// Something registered at a netfilter hook: kube-proxy's NAT, a host firewall's chain, and later the
/// CNIs' rules and NetworkPolicy. A filter may rewrite the frame; one that drops it records the drop
/// (with the network's observers) and releases the buffer.
protocol PacketFilter: AnyObject {
    /// - Returns: whether the packet goes on.
    func filter(_ buffer: PacketBuffer, _ tag: inout PacketTag, at hook: NetfilterHook, in node: ClusterNode) -> Bool
}

/// A node's filters, in the order they run at each hook (netfilter orders them by priority: NAT's
/// destination rewrite at -100 before the filter table at 0).
///
/// A class, held by its node with `let`: the packet path runs a hook three to six times per packet, and
/// a struct read through the node was copied (its arrays retained) at each run.
final class NetfilterHooks {
    private var chains: [ContiguousArray<any PacketFilter>] = Array(repeating: [], count: NetfilterHook.allCases.count)

    /// Adds `filter` at the end of `hook`'s list.
    func register(_ filter: any PacketFilter, at hook: NetfilterHook) {
        chains[hook.index].append(filter)
    }

    /// Runs `hook`'s filters in order until one drops the packet.
    ///
    /// An empty hook costs one count read. Otherwise the run holds the hook's list in a constant, one
    /// retain, and calls its filters through it: the list cannot change while it is held, so no filter is
    /// retained for its call (iterating the stored list retained the list and each filter, and a filter
    /// held `unowned(unsafe)` was retained at each call all the same).
    @inline(__always)
    func run(_ hook: NetfilterHook, _ buffer: PacketBuffer, _ tag: inout PacketTag, in node: ClusterNode) -> Bool {
        guard !chains[hook.index].isEmpty else { return true }
        let chain = chains[hook.index]
        for index in chain.indices where !chain[index].filter(buffer, &tag, at: hook, in: node) { return false }
        return true
    }

    func filters(at hook: NetfilterHook) -> [any PacketFilter] { Array(chains[hook.index]) }
}

extension NetfilterHook {
    var index: Int {
        switch self {
        case .prerouting: 0
        case .input: 1
        case .forward: 2
        case .output: 3
        case .postrouting: 4
        }
    }
}
