import PacketWire

/// The conditions of one rule: every condition given must hold; a condition left nil matches anything.
///
/// Outer conditions read the headers every device can see. Inner conditions (`vni`, `inner*`) read the
/// frame inside a VXLAN packet and are honoured only by a VXLAN-aware device; on another device a rule
/// that uses them can never match, and the scenario is warned.
public struct RuleMatch: Hashable, Sendable {
    public var etherType: EtherType?
    public var sourceMAC: MACAddress?
    public var destinationMAC: MACAddress?
    public var `protocol`: IPProtocol?
    public var source: [IPPrefix]?
    public var destination: [IPPrefix]?
    public var sourcePorts: [PortRange]?
    public var destinationPorts: [PortRange]?
    public var fragment: FragmentMatch?
    public var dontFragment: Bool?
    /// IP packet length (total length), inclusive.
    public var length: ValueRange<Int>?
    /// IPv4 fragment offset in bytes, inclusive (0 for whole packets and first fragments).
    public var fragmentOffset: ValueRange<Int>?
    /// TCP flags under a mask (`tcp flags & (syn | ack) == syn`); only TCP packets with a header match.
    public var tcpFlags: TCPFlagCondition?
    public var icmpType: UInt8?
    public var icmpCode: UInt8?
    public var states: ConnectionStates?
    public var vni: [ValueRange<UInt32>]?
    public var innerSource: [IPPrefix]?
    public var innerDestination: [IPPrefix]?
    public var innerProtocol: IPProtocol?
    public var innerSourcePorts: [PortRange]?
    public var innerDestinationPorts: [PortRange]?

    public init() {}

    /// Whether any condition reads the inner frame.
    public var usesInnerFields: Bool {
        vni != nil || innerSource != nil || innerDestination != nil || innerProtocol != nil
            || innerSourcePorts != nil || innerDestinationPorts != nil
    }

    /// Whether the rule needs a transport header (ports, ICMP type or code).
    public var needsTransportHeader: Bool {
        sourcePorts != nil || destinationPorts != nil || icmpType != nil || icmpCode != nil
    }

    /// The first condition `packet` fails, or nil when it matches.
    /// - Parameters:
    ///   - packet: the packet's fields.
    ///   - state: its connection state on this device (`untracked` for a stateless one).
    public func firstMismatch(_ packet: PacketFields, state: ConnectionState) -> MatchCondition? {
        if let etherType, packet.etherType != etherType { return .etherType }
        if let sourceMAC, packet.sourceMAC != sourceMAC { return .sourceMAC }
        if let destinationMAC, packet.destinationMAC != destinationMAC { return .destinationMAC }
        if let proto = self.protocol, !packet.isIP || packet.protocol != proto { return .protocol }
        if let source, !packet.isIP || !source.containsAddress(packet.source) { return .source }
        if let destination, !packet.isIP || !destination.containsAddress(packet.destination) { return .destination }
        if let fragment, !packet.isIP || !fragment.matches(packet) { return .fragment }
        if let dontFragment, !packet.isIP || packet.dontFragment != dontFragment { return .dontFragment }
        if let length, !packet.isIP || !length.contains(packet.ipLength) { return .length }
        if let fragmentOffset, !packet.isIP || !fragmentOffset.contains(packet.fragmentOffset) { return .fragmentOffset }
        if sourcePorts != nil || destinationPorts != nil {
            guard packet.hasTransportHeader, packet.protocol == .udp || packet.protocol == .tcp else { return .ports }
            if let sourcePorts, !sourcePorts.containsValue(packet.sourcePort) { return .sourcePort }
            if let destinationPorts, !destinationPorts.containsValue(packet.destinationPort) { return .destinationPort }
        }
        if let tcpFlags {
            guard packet.hasTransportHeader, packet.protocol == .tcp else { return .tcpFlags }
            if !tcpFlags.matches(packet.tcpFlags) { return .tcpFlags }
        }
        if icmpType != nil || icmpCode != nil {
            guard packet.isICMP, packet.hasTransportHeader else { return .icmp }
            if let icmpType, packet.icmpType != icmpType { return .icmpType }
            if let icmpCode, packet.icmpCode != icmpCode { return .icmpCode }
        }
        if let states, !states.contains(ConnectionStates(state)) { return .state }
        if usesInnerFields {
            guard let inner = packet.encapsulated else { return .notVXLAN }
            if let vni, !vni.containsValue(inner.vni) { return .vni }
            if let innerProtocol, !inner.innerIsIP || inner.innerProtocol != innerProtocol { return .innerProtocol }
            if let innerSource, !inner.innerIsIP || !innerSource.containsAddress(inner.innerSource) { return .innerSource }
            if let innerDestination, !inner.innerIsIP || !innerDestination.containsAddress(inner.innerDestination) {
                return .innerDestination
            }
            if innerSourcePorts != nil || innerDestinationPorts != nil {
                guard inner.innerHasPorts else { return .innerPorts }
                if let innerSourcePorts, !innerSourcePorts.containsValue(inner.innerSourcePort) { return .innerSourcePort }
                if let innerDestinationPorts, !innerDestinationPorts.containsValue(inner.innerDestinationPort) {
                    return .innerDestinationPort
                }
            }
        }
        return nil
    }

    /// Whether `packet` in `state` meets every condition.
    public func matches(_ packet: PacketFields, state: ConnectionState) -> Bool {
        firstMismatch(packet, state: state) == nil
    }

    /// Whether every packet `other` matches, this matches too: then a rule with `other` placed after a
    /// rule with this can never be reached. Conservative: false when unsure.
    public func covers(_ other: RuleMatch) -> Bool {
        func field<T: Equatable>(_ mine: T?, _ theirs: T?) -> Bool { mine == nil || mine == theirs }
        func prefixes(_ mine: [IPPrefix]?, _ theirs: [IPPrefix]?) -> Bool {
            guard let mine else { return true }
            guard let theirs else { return false }
            return mine.covers(theirs)
        }
        func ranges<V>(_ mine: [ValueRange<V>]?, _ theirs: [ValueRange<V>]?) -> Bool {
            guard let mine else { return true }
            guard let theirs else { return false }
            return mine.coversRanges(theirs)
        }
        // Ports and ICMP fields imply a protocol: a rule with ports and no protocol matches TCP and UDP.
        let protocolCovered = self.protocol == nil || self.protocol == other.protocol
        let fragmentCovered = fragment == nil || (other.fragment.map { fragment?.covers($0) ?? true } ?? false)
        let statesCovered = states == nil || (other.states.map { states?.isSuperset(of: $0) ?? true } ?? false)
        let lengthCovered = (length == nil || (other.length.map { length?.covers($0) ?? true } ?? false))
            && (fragmentOffset == nil || (other.fragmentOffset.map { fragmentOffset?.covers($0) ?? true } ?? false))
        return field(etherType, other.etherType) && field(sourceMAC, other.sourceMAC)
            && field(destinationMAC, other.destinationMAC) && protocolCovered
            && prefixes(source, other.source) && prefixes(destination, other.destination)
            && ranges(sourcePorts, other.sourcePorts) && ranges(destinationPorts, other.destinationPorts)
            && fragmentCovered && field(dontFragment, other.dontFragment) && lengthCovered
            && field(icmpType, other.icmpType) && field(icmpCode, other.icmpCode) && statesCovered
            && field(tcpFlags, other.tcpFlags)
            && ranges(vni, other.vni) && prefixes(innerSource, other.innerSource)
            && prefixes(innerDestination, other.innerDestination) && field(innerProtocol, other.innerProtocol)
            && ranges(innerSourcePorts, other.innerSourcePorts)
            && ranges(innerDestinationPorts, other.innerDestinationPorts)
    }

    /// The conditions in nftables' words: `ip saddr 10.0.0.2 udp dport 8472 ct state new`; empty for a
    /// rule that matches everything.
    public var text: String {
        var words: [String] = []
        if let etherType { words.append("ether type \(Self.etherTypeName(etherType))") }
        if let sourceMAC { words.append("ether saddr \(sourceMAC)") }
        if let destinationMAC { words.append("ether daddr \(destinationMAC)") }
        let family = (source?.first ?? destination?.first).map { $0.isIPv6 ? "ip6" : "ip" } ?? "ip"
        if let source { words.append("\(family) saddr \(source.ruleText)") }
        if let destination { words.append("\(family) daddr \(destination.ruleText)") }
        if let fragment {
            switch fragment {
            case .none: words.append("ip frag-off & 0x3fff == 0")
            case .any: words.append("ip frag-off & 0x3fff != 0")
            case .first: words.append("ip frag-off & 0x3fff == 0x2000")
            case .nonFirst: words.append("ip frag-off & 0x1fff != 0")
            }
        }
        if let dontFragment { words.append(dontFragment ? "ip frag-off & 0x4000 != 0" : "ip frag-off & 0x4000 == 0") }
        if let length { words.append("meta length \(length)") }
        if let fragmentOffset { words.append("ip frag-off & 0x1fff (bytes) \(fragmentOffset)") }
        let protocolName = self.protocol.map(Self.protocolName)
        if sourcePorts != nil || destinationPorts != nil {
            let prefix = protocolName ?? "th"
            if let sourcePorts { words.append("\(prefix) sport \(sourcePorts.rangesText())") }
            if let destinationPorts { words.append("\(prefix) dport \(destinationPorts.rangesText())") }
        } else if icmpType != nil || icmpCode != nil {
            let prefix = protocolName ?? "icmp"
            if let icmpType { words.append("\(prefix) type \(icmpType)") }
            if let icmpCode { words.append("\(prefix) code \(icmpCode)") }
        } else if let protocolName {
            words.append("meta l4proto \(protocolName)")
        }
        if let tcpFlags { words.append(tcpFlags.description) }
        if let states { words.append("ct state \(states)") }
        if let vni { words.append("vxlan vni \(vni.rangesText())") }
        if let innerSource { words.append("vxlan ip saddr \(innerSource.ruleText)") }
        if let innerDestination { words.append("vxlan ip daddr \(innerDestination.ruleText)") }
        let innerName = innerProtocol.map(Self.protocolName)
        if innerSourcePorts != nil || innerDestinationPorts != nil {
            let prefix = "vxlan " + (innerName ?? "th")
            if let innerSourcePorts { words.append("\(prefix) sport \(innerSourcePorts.rangesText())") }
            if let innerDestinationPorts { words.append("\(prefix) dport \(innerDestinationPorts.rangesText())") }
        } else if let innerName {
            words.append("vxlan meta l4proto \(innerName)")
        }
        return words.joined(separator: " ")
    }

    /// `udp`, `tcp`, `icmp`, `icmpv6`, or the number.
    public static func protocolName(_ proto: IPProtocol) -> String {
        switch proto {
        case .udp: "udp"
        case .tcp: "tcp"
        case .icmp: "icmp"
        case .icmpv6: "icmpv6"
        default: "\(proto.rawValue)"
        }
    }

    static func etherTypeName(_ type: EtherType) -> String {
        switch type {
        case .ipv4: "ip"
        case .ipv6: "ip6"
        case .arp: "arp"
        default: "0x" + String(type.rawValue, radix: 16)
        }
    }
}

/// A condition of a rule, named for traces and warnings.
public enum MatchCondition: String, Hashable, Sendable {
    case etherType = "ether type", sourceMAC = "ether saddr", destinationMAC = "ether daddr"
    case `protocol` = "protocol", source = "source address", destination = "destination address"
    case fragment = "fragment", dontFragment = "DF", length = "length", fragmentOffset = "fragment offset"
    case ports = "ports (no UDP/TCP header)", sourcePort = "source port", destinationPort = "destination port"
    case icmp = "ICMP (no ICMP header)", icmpType = "ICMP type", icmpCode = "ICMP code"
    case tcpFlags = "TCP flags"
    case state = "connection state"
    case notVXLAN = "VXLAN (not a VXLAN packet the device can read)"
    case vni = "VNI", innerProtocol = "inner protocol", innerSource = "inner source address"
    case innerDestination = "inner destination address", innerPorts = "inner ports (no inner UDP/TCP header)"
    case innerSourcePort = "inner source port", innerDestinationPort = "inner destination port"
}
