import PacketWire

/// Where one encapsulated packet goes: the far VTEP and the underlay next hop's MAC address, as the
/// forwarding database and the underlay's neighbour table give them.
public struct TunnelDestination: Hashable, Sendable {
    public var address: IPAddress
    public var nextHopMAC: MACAddress

    @inlinable
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
    /// The packet's tunnel key on an `external` device (``TunnelConfiguration/collectMetadata``); ignored
    /// otherwise, where the device's own VNI is sent.
    public var vni: UInt32?

    @inlinable  // a default argument of `encapsulate`: built on every call
    public init(sourcePort: UInt16? = nil, identification: UInt16? = nil, flowLabel: UInt32? = nil, vni: UInt32? = nil) {
        self.sourcePort = sourcePort
        self.identification = identification
        self.flowLabel = flowLabel
        self.vni = vni
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
    // Performance: always inlined, so the per-packet work specialises on the caller's constant arguments
    // (no destination, no overrides); the IPv6 half and the error messages stay out of line.
    @inlinable @inline(__always)
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
        let vni = configuration.collectMetadata ? (overrides.vni ?? configuration.vni) & 0xFF_FFFF : configuration.vni
        let vxlan = VXLANHeader(
            vni: vni,
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
            Self.writeIPv4OuterHeaders(
                into: frame, destinationMAC: nextHopMAC, sourceMAC: configuration.underlaySourceMAC,
                typeOfService: tos, identification: identification, dontFragment: dontFragment, timeToLive: ttl,
                source: local, destination: remoteAddress, udp: udp, udpChecksum: configuration.udpChecksum,
                vxlan: vxlan)

        case let (.v6(local), .v6(remoteAddress)):
            try encapsulateIPv6(buffer, local: local, remote: remoteAddress, nextHopMAC: nextHopMAC, inner: inner,
                                typeOfService: tos, udp: udp, vxlan: vxlan, flowLabel: overrides.flowLabel)

        default:
            throw .addressFamilyMismatch(local: configuration.local, remote: remote)
        }
    }

    /// The IPv6-underlay half of ``encapsulate(_:to:groupPolicyID:overrides:)``, kept out of line so the
    /// IPv4 path inlines into its callers small.
    @usableFromInline
    mutating func encapsulateIPv6(_ buffer: PacketBuffer, local: IPv6Address, remote remoteAddress: IPv6Address,
                                  nextHopMAC: MACAddress, inner: InnerSummary, typeOfService tos: UInt8,
                                  udp: UDPHeader, vxlan: VXLANHeader, flowLabel: UInt32?) throws(EncapsulationError) {
        let configuration = self.configuration
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
        let flowLabel = flowLabel ?? Self.flowLabel(
            hash: FlowHash.hash(innerFrame: UnsafeRawBufferPointer(frame.slice(70..<frame.count)),
                                seed: configuration.flowHashSeed))
        IPv6Header(trafficClass: tos, flowLabel: flowLabel, payloadLength: udp.length, nextHeader: .udp,
                   hopLimit: hopLimit, source: local, destination: remoteAddress)
            .emit(into: frame.slice(14..<54))
        EthernetHeader(destination: nextHopMAC, source: configuration.underlaySourceMAC, etherType: .ipv6)
            .emit(into: frame.slice(0..<14))
    }

    /// Writes the 50 bytes of outer Ethernet, IPv4, UDP and VXLAN headers at the start of `frame`, whose
    /// inner frame is already in place after them: the bytes `EthernetHeader`, `IPv4Header`, `UDPHeader`
    /// and `VXLANHeader` would emit for an untagged, option-less IPv4 header, UDP checksum included.
    ///
    /// Performance: this is the per-packet path of every IPv4 tunnel. Building those four values and
    /// emitting them cost ~400 instructions a packet (callgrind): the IPv4 value carries an options
    /// array to retain and release, and the emitters, kept out of line, re-check sizes and walk VLAN tags
    /// and options that are always empty here. Writing the header words directly, as Linux's
    /// `vxlan_build_skb` / `udp_tunnel_xmit_skb` / `iptunnel_xmit` do, costs a few dozen; the kernel
    /// vectors (`KernelVectorTests`) prove the bytes unchanged.
    @inlinable @inline(__always)
    static func writeIPv4OuterHeaders(
        into frame: UnsafeMutableRawBufferPointer, destinationMAC: MACAddress, sourceMAC: MACAddress,
        typeOfService: UInt8, identification: UInt16, dontFragment: Bool, timeToLive: UInt8,
        source: IPv4Address, destination: IPv4Address, udp: UDPHeader, udpChecksum: Bool, vxlan: VXLANHeader
    ) {
        precondition(frame.count >= ipv4Overhead && frame.count - 34 >= udp.length, "buffer too small for the outer headers")
        // Ethernet II (no VLAN tag): destination, source, EtherType IPv4.
        frame.storeBytes(of: (destinationMAC.rawValue << 16 | sourceMAC.rawValue >> 32).bigEndian, toByteOffset: 0,
                         as: UInt64.self) // bytes 0-7: destination MAC, first 2 of the source (EthernetFrame.Field)
        frame.setInteger(UInt32(truncatingIfNeeded: sourceMAC.rawValue), at: 8, as: UInt32.self) // source MAC, last 4 bytes
        // Literal numbers here and below: `EtherType.ipv4` and `IPProtocol.udp` are `static let`s of another
        // module, read through a lazy-initialisation accessor call on every use.
        frame.setInteger(0x0800, at: 12, as: UInt16.self) // EthernetFrame.Field.etherType
        // IPv4 (RFC 791), IHL 5, no options, never a fragment; the checksum is summed from these words.
        let totalLength = UInt16(truncatingIfNeeded: IPv4Packet.minimumHeaderLength + udp.length)
        let word0 = 0x4500_0000 | UInt32(typeOfService) << 16 | UInt32(totalLength)
        let word1 = UInt32(identification) << 16 | (dontFragment ? 0x4000 : 0)
        let word2 = UInt32(timeToLive) << 24 | 17 << 16
        var headerSum = InternetChecksum()
        headerSum.add(doubleWord: word0)
        headerSum.add(doubleWord: word1)
        headerSum.add(doubleWord: word2)
        headerSum.add(doubleWord: source.rawValue)
        headerSum.add(doubleWord: destination.rawValue)
        frame.setInteger(word0, at: 14, as: UInt32.self) // IPv4 at 14: version/IHL, TOS, total length (RFC 791 §3.1)
        frame.setInteger(word1, at: 18, as: UInt32.self) // identification, flags and fragment offset
        frame.setInteger(word2 | UInt32(headerSum.checksum), at: 22, as: UInt32.self) // TTL, protocol, header checksum
        frame.setInteger(source.rawValue, at: 26, as: UInt32.self) // 14 + IPv4Packet.Field.source
        frame.setInteger(destination.rawValue, at: 30, as: UInt32.self) // 14 + IPv4Packet.Field.destination
        // UDP (RFC 768); the checksum field stays 0 ("none") unless asked for.
        frame.setInteger(UInt32(udp.sourcePort) << 16 | UInt32(udp.destinationPort), at: 34, as: UInt32.self) // UDP at 34: ports (RFC 768)
        frame.setInteger(UInt32(UInt16(truncatingIfNeeded: udp.length)) << 16, at: 38, as: UInt32.self) // length, checksum 0
        // VXLAN (RFC 7348 §5), with the group policy when there is one.
        var vxlanWord0 = UInt32(VXLANPacket.vniFlag) << 24
        if let groupPolicy = vxlan.groupPolicy {
            let gbpFlags = (groupPolicy.dontLearn ? VXLANPacket.dontLearnFlag : 0)
                | (groupPolicy.policyApplied ? VXLANPacket.policyAppliedFlag : 0)
            vxlanWord0 |= UInt32(VXLANPacket.groupPolicyFlag) << 24 | UInt32(gbpFlags) << 16 | UInt32(groupPolicy.id)
        }
        frame.setInteger(vxlanWord0, at: 42, as: UInt32.self) // VXLAN at 42: flags, GBP flags and ID (RFC 7348 §5)
        frame.setInteger(vxlan.vni << 8, at: 46, as: UInt32.self) // VNI, reserved byte
        if udpChecksum {
            // Over the pseudo-header, UDP and VXLAN headers and the inner frame; 0 is sent as 0xFFFF.
            let datagram = UnsafeRawBufferPointer(frame.slice(34..<34 + udp.length))
            let sum = PseudoHeader.ipv4(source: source, destination: destination).checksum(of: datagram, protocol: .udp)
            frame.setInteger(sum == 0 ? 0xFFFF : sum, at: 40, as: UInt16.self) // 34 + UDPDatagram.Field.checksum
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
    /// `udp6zerocsumrx`), the VXLAN I flag, the VNI, and that no bit the device does not use is set
    /// (``setsReservedBits(_:groupBasedPolicy:)``: a GBP header on a device without `gbp`, a VXLAN-GPE
    /// header, anything in a reserved field).
    /// - Throws: ``DecapsulationError`` saying exactly why the frame is refused.
    // Performance: always inlined, with the fast path; the layered path stays out of line.
    @inlinable @inline(__always)
    public func decapsulate(_ buffer: PacketBuffer) throws(DecapsulationError) -> DecapsulatedPacket {
        // Performance: an untagged IPv4 frame that passes every check is accepted by a straight-line
        // reading inlined into the caller. Any other frame, or one that fails a check, goes through the
        // layer-by-layer path below, which accepts what the fast path accepts and says why it refuses.
        if let packet = decapsulateUntaggedIPv4(buffer) { return packet }
        return try decapsulateCheckingEachLayer(buffer)
    }

    /// The fast path of ``decapsulate(_:)``: the same checks, in place, on an untagged IPv4 frame; nil,
    /// with the buffer unchanged, when any check fails or the frame is something else.
    ///
    /// Through the views and values (`EthernetFrame`, `IPv4Packet`, `IPv4Header`, `UDPDatagram`,
    /// `VXLANPacket`, `VXLANHeader`) a frame cost ~750 instructions (callgrind): each throwing check is a
    /// call the optimiser keeps out of line, and `IPv4Header` builds an options array. Read directly it
    /// costs a few dozen, as Linux's `vxlan_rcv` reads `skb->data`.
    @inlinable @inline(__always)
    func decapsulateUntaggedIPv4(_ buffer: PacketBuffer) -> DecapsulatedPacket? {
        let frame = buffer.readableBytes
        let ip = EthernetFrame.minimumHeaderLength
        // EthernetFrame(checking:), untagged, EtherType IPv4 (literal: `EtherType.ipv4` is another module's
        // lazily initialised `static let`).
        guard frame.count >= ip + IPv4Packet.minimumHeaderLength, frame.getInteger(at: 12, as: UInt16.self) == 0x0800 else { // EthernetFrame.Field.etherType
            return nil
        }
        // IPv4Packet(checking:): version 4, IHL >= 5, header and total length within the bytes.
        let first = frame.getInteger(at: ip, as: UInt8.self)
        let ipHeaderLength = Int(first & 0x0F) &* 4
        let totalLength = Int(frame.getInteger(at: ip + 2, as: UInt16.self)) // IPv4Packet.Field.totalLength
        guard first >> 4 == 4, ipHeaderLength >= IPv4Packet.minimumHeaderLength, frame.count - ip >= ipHeaderLength,
              totalLength >= ipHeaderLength, totalLength <= frame.count - ip else { return nil }
        // IPv4Header(_:): the header checksum; then not a fragment (MF clear, offset 0), protocol UDP.
        guard InternetChecksum.checksum(frame.slice(ip..<ip + ipHeaderLength)) == 0,
              // IPv4Packet.Field.flagsAndFragmentOffset (6) and .protocol (9):
              frame.getInteger(at: ip + 6, as: UInt16.self) & 0x3FFF == 0, frame.getInteger(at: ip + 9, as: UInt8.self) == 17 else { return nil }
        // UDPDatagram(checking:) on the IP payload, then the destination port.
        let udp = ip + ipHeaderLength
        guard totalLength - ipHeaderLength >= UDPDatagram.headerLength else { return nil }
        let udpLength = Int(frame.getInteger(at: udp + 4, as: UInt16.self)) // UDPDatagram.Field.length
        guard udpLength >= UDPDatagram.headerLength, udpLength <= totalLength - ipHeaderLength,
              frame.getInteger(at: udp + 2, as: UInt16.self) == configuration.destinationPort else { return nil } // .destinationPort
        let source = IPv4Address(rawValue: frame.getInteger(at: ip + 12, as: UInt32.self)) // IPv4Packet.Field.source
        // A zero checksum is "none", which IPv4 allows; any other must verify.
        if frame.getInteger(at: udp + 6, as: UInt16.self) != 0 { // UDPDatagram.Field.checksum
            let pseudoHeader = PseudoHeader.ipv4(source: source,
                                                 destination: IPv4Address(rawValue: frame.getInteger(at: ip + 16, as: UInt32.self))) // .destination
            guard pseudoHeader.checksum(of: frame.slice(udp..<udp + udpLength), protocol: .udp) == 0 else { return nil }
        }
        // VXLANPacket(checking:) and VXLANHeader(_:): 8 bytes, the I flag; then the VNI and an inner
        // Ethernet header's worth of bytes.
        let vxlan = udp + UDPDatagram.headerLength
        let innerLength = udpLength - UDPDatagram.headerLength - VXLANPacket.headerLength
        guard innerLength >= 0 else { return nil }
        let flags = frame.getInteger(at: vxlan, as: UInt8.self)
        let vni = frame.getInteger(at: vxlan + 4, as: UInt32.self) >> 8 // VXLANPacket.Field.vni
        guard flags & VXLANPacket.vniFlag != 0, vni == configuration.vni || configuration.collectMetadata,
              !Self.setsReservedBits(frame.getInteger(at: vxlan, as: UInt64.self), groupBasedPolicy: configuration.groupBasedPolicy),
              innerLength >= EthernetFrame.minimumHeaderLength else { return nil }
        var groupPolicy: GroupPolicy?
        if flags & VXLANPacket.groupPolicyFlag != 0 {
            let gbpFlags = frame.getInteger(at: vxlan + 1, as: UInt8.self) // VXLANPacket.Field.groupPolicyFlags
            groupPolicy = GroupPolicy(id: frame.getInteger(at: vxlan + 2, as: UInt16.self), // .groupPolicyID
                                      dontLearn: gbpFlags & VXLANPacket.dontLearnFlag != 0,
                                      policyApplied: gbpFlags & VXLANPacket.policyAppliedFlag != 0)
        }
        let headerLength = vxlan + VXLANPacket.headerLength
        // The inner frame ends where the UDP length says; bytes after it are outer padding.
        buffer.truncate(to: headerLength + innerLength)
        buffer.removeFront(headerLength)
        return DecapsulatedPacket(vni: vni, groupPolicy: groupPolicy, outerSource: .v4(source),
                                  outerSourcePort: frame.getInteger(at: udp, as: UInt16.self), headerLength: headerLength)
    }

    /// Whether the 8-byte VXLAN header sets a bit the device does not use, as Linux's `vxlan_rcv` checks
    /// after the VNI lookup (drivers/net/vxlan/vxlan_core.c; the mask is built by `vxlan_nl2conf`): by
    /// default only I may be set; `gbp` adds G and all of bytes 1-3 (`VXLAN_GBP_USED_BITS`, so reserved
    /// GBP flag bits pass); the byte after the VNI is never used. RFC 7348 §5 says to ignore reserved bits;
    /// Linux drops the packet instead, and so do we (checked on Linux 6.18: `rx_frame_errors` counts it).
    @inlinable
    public static func setsReservedBits(_ header: UInt64, groupBasedPolicy: Bool) -> Bool {
        let used: UInt64 = groupBasedPolicy ? 0x88FF_FFFF_FFFF_FF00 : 0x0800_0000_FFFF_FF00
        return header & ~used != 0
    }

    /// ``decapsulate(_:)`` through PacketWire's views and values, layer by layer: every frame the fast
    /// path declines, and the reason for every refusal. Kept out of line.
    @usableFromInline
    func decapsulateCheckingEachLayer(_ buffer: PacketBuffer) throws(DecapsulationError) -> DecapsulatedPacket {
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
            if let fragment = upper.fragment { throw .fragment(offset: fragment.fragmentOffset, more: fragment.moreFragments) }
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
        guard vxlan.vni == configuration.vni || configuration.collectMetadata else {
            throw .unknownVNI(vxlan.vni, expected: configuration.vni)
        }
        let header = vxlanPacket.bytes.getInteger(at: 0, as: UInt64.self) // all 8 header bytes, for the reserved-bit check
        if Self.setsReservedBits(header, groupBasedPolicy: configuration.groupBasedPolicy) {
            throw .reservedBits(header: header, groupBasedPolicy: configuration.groupBasedPolicy, offset: vxlanPacket.frameOffset)
        }
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
        // Performance: an untagged IPv4 frame is read in place, inlined; the same answer as the
        // general reading below gives for it (EtherType 0x0800 at 12, then the `.ipv4` case).
        if frame.count >= 14 && frame.getInteger(at: 12, as: UInt16.self) == 0x0800 { // EthernetFrame.Field.etherType
            // IPv4 at 14 (RFC 791 §3.1): version (0), TOS (1), flags (6, DF 0x40), TTL (8): IPv4Packet.Field.
            if frame.count >= 34 && frame.getInteger(at: 14, as: UInt8.self) >> 4 == 4 {
                self.init(typeOfService: frame.getInteger(at: 15, as: UInt8.self), timeToLive: frame.getInteger(at: 22, as: UInt8.self),
                          dontFragment: frame.getInteger(at: 20, as: UInt8.self) & 0x40 != 0)
            } else {
                self.init(typeOfService: 0, timeToLive: nil, dontFragment: false)
            }
        } else {
            self.init(anyFrame: frame)
        }
    }

    @inlinable
    init(typeOfService: UInt8, timeToLive: UInt8?, dontFragment: Bool) {
        self.typeOfService = typeOfService
        self.timeToLive = timeToLive
        self.dontFragment = dontFragment
    }

    /// The summary of any frame: VLAN-tagged, IPv6, or neither.
    @usableFromInline
    init(anyFrame frame: UnsafeRawBufferPointer) {
        guard let ethernet = try? EthernetFrame(checking: frame) else { return }
        let payload = ethernet.payload
        switch ethernet.etherType {
        case .ipv4 where payload.count >= IPv4Packet.minimumHeaderLength && IPv4Packet(unchecked: payload).version == 4:
            let ip = IPv4Packet(unchecked: payload)
            typeOfService = ip.typeOfService
            timeToLive = ip.timeToLive
            dontFragment = ip.dontFragment
        case .ipv6 where payload.count >= IPv6Packet.headerLength && IPv6Packet(unchecked: payload).version == 6:
            let ip = IPv6Packet(unchecked: payload)
            typeOfService = ip.trafficClass
            timeToLive = ip.hopLimit
            // Linux `df inherit`: IPv6 is never fragmented by routers, so its tunnel packets keep DF.
            dontFragment = true
        default:
            break
        }
    }
}
