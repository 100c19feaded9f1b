/// Why a packet went no further: a stable code a test or a script matches, and the sentence a person
/// reads. The report and report.json group drops by code and place and show both.
public struct DropReason: Hashable, Sendable, CustomStringConvertible {
    public var code: DropCode
    public var sentence: String

    public init(_ code: DropCode, _ sentence: String) {
        self.code = code
        self.sentence = sentence
    }

    public var description: String { "[\(code.rawValue)] \(sentence)" }
}

/// The kinds of drop. The raw values are part of report.json and never change meaning.
public enum DropCode: String, Hashable, Sendable, CaseIterable, Codable {
    /// A router or node decremented the TTL (hop limit) to zero (RFC 791, RFC 8200).
    case ttlExpired
    /// No route to the destination (a node, a router or the underlay).
    case noRoute
    /// The destination address is in a node's pod CIDR but no pod has it (deleted, not yet created).
    case noSuchPod
    /// The destination pod exists but has not started yet.
    case podNotRunning
    /// A packet larger than an MTU on its way with fragmentation forbidden: DF set, a switch port, or a
    /// VTEP's path-MTU check.
    case mtuExceeded
    /// A socket asked to send a datagram with DF that does not fit the interface (EMSGSIZE).
    case messageTooLong
    /// A link direction's queue was full (tail drop).
    case queueFull
    /// The link lost the packet (its configured loss rate).
    case linkLoss
    /// The VTEP could not encapsulate the frame (no room for the headers, mismatched address families).
    case encapsulationFailed
    /// The receiving VTEP refused the outer packet (what `vxlan_rcv` drops: bad checksum, wrong VNI, ...).
    case vxlanRefused
    /// A firewall, security group or middlebox dropped or rejected it.
    case firewallDenied
    /// IP reassembly gave up on the datagram (overlap, timeout, too large) or had no room.
    case reassemblyFailed
    /// IP reassembly held part of a datagram for `ipfrag_time` without the rest arriving (net/ipv4/ip_fragment.c
    /// `ip_expire`): the datagram is lost, and ICMP time exceeded (fragment reassembly) goes to its source.
    case reassemblyTimedOut
    /// An ICMP error the receiving layer could not match to anything of its own and ignored (the vxlan
    /// driver's `vxlan_err_lookup` finds no VXLAN header in a too-short quote): nothing is learned.
    case icmpIgnored
    /// kube-proxy rejected a connection to a Service with no ready endpoints (ICMP port unreachable:
    /// connection refused).
    case serviceHasNoEndpoints
    /// Not a packet this layer can read (not IPv4 where IPv4 is needed, a malformed fragment).
    case malformed
    /// The sender had no destination to send to (its pod, or every endpoint, is gone).
    case destinationUnavailable
    /// Nothing listens on the destination port: the pod's kernel answered TCP with RST
    /// (`tcp_v4_send_reset`) and UDP with ICMP port unreachable (`__udp4_lib_rcv` → `icmp_send`); the
    /// sender's socket gets ECONNREFUSED, "connection refused".
    case connectionRefused
}
