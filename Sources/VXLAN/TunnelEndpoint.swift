import PacketWire

/// Where one encapsulated packet goes: the far VTEP and the underlay next hop's MAC address, as the
/// forwarding database and the underlay's neighbour table give them.
public struct TunnelDestination: Hashable, Sendable {
    public var address: IPAddress
    public var nextHopMAC: MACAddress

    public init(address: IPAddress, nextHopMAC: MACAddress) {
        self.address = address
        self.nextHopMAC = nextHopMAC
    }
}

/// Per-packet values Linux derives from state a capture does not show (the boot-time hash seed, the IP
/// ID counter). Replaying a capture passes the values seen on the wire; a simulation leaves them nil.
public struct EncapsulationOverrides: Hashable, Sendable {
    public var sourcePort: UInt16?
    public var identification: UInt16?
    public var flowLabel: UInt32?

    public init(sourcePort: UInt16? = nil, identification: UInt16? = nil, flowLabel: UInt32? = nil) {
        self.sourcePort = sourcePort
        self.identification = identification
        self.flowLabel = flowLabel
    }
}

/// What decapsulation learned from the outer headers.
public struct DecapsulatedPacket: Hashable, Sendable {
    public var vni: UInt32
    public var groupPolicy: GroupPolicy?
    /// The sending VTEP.
    public var outerSource: IPAddress
    public var outerSourcePort: UInt16
    /// Bytes removed from the front of the buffer.
    public var headerLength: Int

    @inlinable
    public init(vni: UInt32, groupPolicy: GroupPolicy?, outerSource: IPAddress, outerSourcePort: UInt16,
                headerLength: Int) {
        self.vni = vni
        self.groupPolicy = groupPolicy
        self.outerSource = outerSource
        self.outerSourcePort = outerSourcePort
        self.headerLength = headerLength
    }
}

/// A VXLAN tunnel endpoint that builds and checks outer headers exactly as the Linux vxlan driver does
/// (`vxlan_xmit_one`, `vxlan_rcv`).
///
/// Encapsulation prepends the outer headers into the buffer's headroom without touching the inner frame;
/// decapsulation validates them and moves the buffer's start past them. Neither allocates.
public struct TunnelEndpoint: Sendable {
    public var configuration: TunnelConfiguration
    /// The next outer IPv4 identification. Linux draws it from a counter hashed on the address pair and
    /// advances it by one per packet (`__ip_select_ident`, called by `iptunnel_xmit` whatever DF says).
    public var nextIdentification: UInt16

    public init(configuration: TunnelConfiguration, initialIdentification: UInt16 = 0) {
        self.configuration = configuration
        self.nextIdentification = initialIdentification
    }

    public static let ethernetHeaderLength = 14
    public static let ipv4Overhead = 14 + 20 + 8 + 8
    public static let ipv6Overhead = 14 + 40 + 8 + 8

    /// Outer header bytes: 50 over IPv4, 70 over IPv6.
    @inlinable
    public static func overhead(ipv6: Bool) -> Int { ipv6 ? ipv6Overhead : ipv4Overhead }

    // MARK: - Encapsulation

    /// Prepends outer Ethernet, IP, UDP and VXLAN headers to the inner Ethernet frame in `buffer`.
    ///
    /// - Parameters:
    ///   - buffer: holds the inner frame; on success it holds the outer frame. Unchanged on failure.
    ///   - destination: the far VTEP; the configuration's `remote` and next-hop MAC when nil.
    ///   - groupPolicyID: the packet's mark; carried only with `gbp` and when non-zero, as Linux does.
    ///   - overrides: values seen on the wire when replaying a capture.
    /// - Throws: ``EncapsulationError`` when there is no destination, the address families differ, or the
    ///   headroom is too small.
    @inlinable
    public mutating func encapsulate(_ buffer: PacketBuffer, to destination: TunnelDestination? = nil,
                                     groupPolicyID: UInt16 = 0,
                                     overrides: EncapsulationOverrides = EncapsulationOverrides())
        throws(EncapsulationError)
    {
        let configuration = self.configuration
        let remote: IPAddress
        let nextHopMAC: MACAddress
        if let destination {
            remote = destination.address
            nextHopMAC = destination.nextHopMAC
        } else if let configured = configuration.remote {
            remote = configured
            nextHopMAC = configuration.underlayNextHopMAC
        } else {
            throw .noDestination()
        }
        let inner = InnerSummary(buffer.readableBytes)
        let innerLength = buffer.count
        let sourcePort = overrides.sourcePort ?? FlowHash.sourcePort(
            hash: FlowHash.hash(innerFrame: buffer.readableBytes, seed: configuration.flowHashSeed),
            range: configuration.sourcePortRange)
        let vxlan = VXLANHeader(
            vni: configuration.vni,
            groupPolicy: configuration.groupBasedPolicy && groupPolicyID != 0 ? GroupPolicy(id: groupPolicyID) : nil)
        let udp = UDPHeader(sourcePort: sourcePort, destinationPort: configuration.destinationPort,
                            payloadLength: VXLANHeader.headerLength + innerLength)
        let tos = Self.outerTypeOfService(configuration.tos, inner: inner)

        switch (configuration.local, remote) {
        case let (.v4(local), .v4(remoteAddress)):
            guard let frame = buffer.prepend(Self.ipv4Overhead) else {
                throw .insufficientHeadroom(needed: Self.ipv4Overhead, available: buffer.headroom)
            }
            let ttl: UInt8 = switch configuration.ttl {
            case .auto: remoteAddress.isMulticast ? 1 : 64
            case .inherit: inner.timeToLive ?? 64
            case .fixed(let value): value
            }
            let dontFragment = switch configuration.df {
            case .unset: false
            case .set: true
            case .inherit: inner.dontFragment
            }
            let identification = overrides.identification ?? nextIdentification
            nextIdentification = identification &+ 1
            vxlan.emit(into: frame.slice(42..<50))
            udp.emit(into: frame.slice(34..<frame.count),
                     checksum: configuration.udpChecksum ? .ipv4(source: local, destination: remoteAddress) : nil)
            IPv4Header(typeOfService: tos, identification: identification, dontFragment: dontFragment,
                       timeToLive: ttl, protocol: .udp, source: local, destination: remoteAddress,
                       payloadLength: udp.length).emit(into: frame.slice(14..<34))
            EthernetHeader(destination: nextHopMAC, source: configuration.underlaySourceMAC, etherType: .ipv4)
                .emit(into: frame.slice(0..<14))

        case let (.v6(local), .v6(remoteAddress)):
            guard let frame = buffer.prepend(Self.ipv6Overhead) else {
                throw .insufficientHeadroom(needed: Self.ipv6Overhead, available: buffer.headroom)
            }
            let hopLimit: UInt8 = switch configuration.ttl {
            case .auto: remoteAddress.isMulticast ? 1 : 64
            case .inherit: inner.timeToLive ?? 64
            case .fixed(let value): value
            }
            vxlan.emit(into: frame.slice(62..<70))
            udp.emit(into: frame.slice(54..<frame.count),
                     checksum: configuration.udp6ZeroChecksumTx ? nil : .ipv6(source: local, destination: remoteAddress))
            // Linux's auto flow label (`ip6_make_flowlabel`) comes from the same flow hash.
            let flowLabel = overrides.flowLabel ?? Self.flowLabel(
                hash: FlowHash.hash(innerFrame: UnsafeRawBufferPointer(frame.slice(70..<frame.count)),
                                    seed: configuration.flowHashSeed))
            IPv6Header(trafficClass: tos, flowLabel: flowLabel, payloadLength: udp.length, nextHeader: .udp,
                       hopLimit: hopLimit, source: local, destination: remoteAddress)
                .emit(into: frame.slice(14..<54))
            EthernetHeader(destination: nextHopMAC, source: configuration.underlaySourceMAC, etherType: .ipv6)
                .emit(into: frame.slice(0..<14))

        default:
            throw .addressFamilyMismatch(local: configuration.local, remote: remote)
        }
    }

    /// RFC 6437 flow label from a flow hash: rotated so the port-heavy low bits land in the label, never
    /// zero (zero means "no label").
    @inlinable
    static func flowLabel(hash: UInt32) -> UInt32 {
        let label = ((hash << 16) | (hash >> 16)) & 0xF_FFFF
        return label == 0 ? 0xF_FFFF : label
    }

    /// The outer TOS / traffic class: the configured or inherited DSCP, with ECN copied from the inner
    /// header except that CE becomes ECT(0) (RFC 6040 §4.1; Linux `INET_ECN_encapsulate`).
    @inlinable
    static func outerTypeOfService(_ policy: TOSPolicy, inner: InnerSummary) -> UInt8 {
        let base: UInt8 = switch policy {
        case .inherit: inner.typeOfService
        case .fixed(let value): value
        }
        let innerECN = inner.typeOfService & 0x3
        let ecn: UInt8 = innerECN == 0x3 ? 0x2 : innerECN
        return (base & ~0x3) | ecn
    }

    // MARK: - Decapsulation

    /// Checks the outer headers of the frame in `buffer` and, when they are a VXLAN packet for this
    /// endpoint, removes them, leaving the inner Ethernet frame. The buffer is unchanged on failure.
    ///
    /// Checks, in order: Ethernet type, IP version and lengths, IPv4 header checksum, not a fragment,
    /// UDP, destination port, UDP checksum (when non-zero; a zero one over IPv6 only with
    /// `udp6zerocsumrx`), the VXLAN I flag, and the VNI.
    /// - Throws: ``DecapsulationError`` saying exactly why the frame is refused.
    @inlinable
    public func decapsulate(_ buffer: PacketBuffer) throws(DecapsulationError) -> DecapsulatedPacket {
        let configuration = self.configuration
        let frame = buffer.readableBytes
        let ethernet: EthernetFrame
        do { ethernet = try EthernetFrame(checking: frame) } catch { throw .malformed(error) }
        let udpBytes: UnsafeRawBufferPointer
        let udpOffset: Int
        let pseudoHeader: PseudoHeader
        let outerSource: IPAddress
        switch ethernet.etherType {
        case .ipv4:
            let ip: IPv4Packet
            do {
                ip = try IPv4Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset)
                _ = try IPv4Header(ip)
            } catch {
                throw .malformed(error)
            }
            guard !ip.isFragment else { throw .fragment(offset: ip.fragmentOffset, more: ip.moreFragments) }
            guard ip.protocol == .udp else { throw .notUDP(ip.protocol) }
            udpBytes = ip.payload
            udpOffset = ip.payloadOffset
            pseudoHeader = .ipv4(source: ip.source, destination: ip.destination)
            outerSource = .v4(ip.source)
        case .ipv6:
            let ip: IPv6Packet
            let upper: IPv6Packet.UpperLayer
            do {
                ip = try IPv6Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset)
                upper = try ip.upperLayer()
            } catch {
                throw .malformed(error)
            }
            if let fragment = upper.fragment { throw .fragment(offset: fragment.offset, more: fragment.moreFragments) }
            guard upper.protocol == .udp else { throw .notUDP(upper.protocol) }
            udpBytes = ip.payload.dropFirst(count: upper.offset)
            udpOffset = ip.payloadOffset + upper.offset
            pseudoHeader = .ipv6(source: ip.source, destination: ip.destination)
            outerSource = .v6(ip.source)
        default:
            throw .notIP(ethernet.etherType)
        }
        let udp: UDPDatagram
        do { udp = try UDPDatagram(checking: udpBytes, frameOffset: udpOffset) } catch { throw .malformed(error) }
        guard udp.destinationPort == configuration.destinationPort else {
            throw .wrongPort(found: udp.destinationPort, expected: configuration.destinationPort)
        }
        if udp.checksum == 0 {
            if case .ipv6 = pseudoHeader, !configuration.udp6ZeroChecksumRx { throw .zeroChecksumOverIPv6() }
        } else if !udp.checksumIsValid(pseudoHeader) {
            throw .malformed(.badChecksum(.udp, offset: udp.frameOffset + 6,
                                          expected: udp.expectedChecksum(pseudoHeader), found: udp.checksum))
        }
        let vxlanPacket: VXLANPacket
        let vxlan: VXLANHeader
        do {
            vxlanPacket = try VXLANPacket(checking: udp.payload, frameOffset: udp.payloadOffset)
            vxlan = try VXLANHeader(vxlanPacket)
        } catch {
            throw .malformed(error)
        }
        guard vxlan.vni == configuration.vni else { throw .unknownVNI(vxlan.vni, expected: configuration.vni) }
        let headerLength = vxlanPacket.payloadOffset
        guard vxlanPacket.payload.count >= EthernetFrame.minimumHeaderLength else {
            throw .malformed(.truncated(.ethernet, offset: headerLength, needed: EthernetFrame.minimumHeaderLength,
                                        available: vxlanPacket.payload.count))
        }
        // The inner frame ends where the UDP length says; bytes after it are outer padding.
        buffer.truncate(to: headerLength + vxlanPacket.payload.count)
        buffer.removeFront(headerLength)
        return DecapsulatedPacket(vni: vxlan.vni, groupPolicy: vxlan.groupPolicy, outerSource: outerSource,
                                  outerSourcePort: udp.sourcePort, headerLength: headerLength)
    }
}

/// The inner-header fields the `inherit` options copy, read once per packet without allocating.
@usableFromInline
struct InnerSummary {
    @usableFromInline var typeOfService: UInt8 = 0
    @usableFromInline var timeToLive: UInt8?
    @usableFromInline var dontFragment = false

    @inlinable
    init(_ frame: UnsafeRawBufferPointer) {
        guard let ethernet = try? EthernetFrame(checking: frame) else { return }
        let payload = ethernet.payload
        switch ethernet.etherType {
        case .ipv4 where payload.count >= 20 && payload.readUInt8(at: 0) >> 4 == 4:
            typeOfService = payload.readUInt8(at: 1)
            timeToLive = payload.readUInt8(at: 8)
            dontFragment = payload.readUInt8(at: 6) & 0x40 != 0
        case .ipv6 where payload.count >= 40 && payload.readUInt8(at: 0) >> 4 == 6:
            typeOfService = UInt8(truncatingIfNeeded: payload.readUInt32(at: 0) >> 20)
            timeToLive = payload.readUInt8(at: 7)
            // Linux `df inherit`: IPv6 is never fragmented by routers, so its tunnel packets keep DF.
            dontFragment = true
        default:
            break
        }
    }
}
