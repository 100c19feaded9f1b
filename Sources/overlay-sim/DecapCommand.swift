import ArgumentParser
import Capture
import PacketWire
import VXLAN

/// `overlay-sim decap IN OUT [--vni N] [--dstport N]`
struct Decap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn an underlay capture back into the inner frames a Linux VXLAN device would deliver.",
        discussion: """
            Every frame of IN is checked as the Linux vxlan driver checks a received packet (IP \
            version, lengths and header checksum, UDP port and checksum, the VXLAN I flag, the VNI); \
            the inner frames of those it accepts are written to OUT with their timestamps. Outer IPv4 \
            fragments are reassembled first, as the kernel does before the packet reaches the tunnel. \
            Refused frames are counted on standard error by reason, with their frame numbers.
            """
    )

    @Argument(help: "The underlay capture (pcap or pcapng, Ethernet).")
    var input: String

    @Argument(help: "The capture of inner frames to write (pcap, nanosecond timestamps).")
    var output: String

    @Option(help: "Accept only this VNI. Default: any.")
    var vni: UInt32?

    @Option(help: "Accept only this UDP destination port. Default: 4789 and 8472.")
    var dstport: UInt16?

    @Flag(help: "Accept a zero UDP checksum over IPv6 (ip link: udp6zerocsumrx).")
    var udp6zerocsumrx = false

    @Flag(help: "Accept frames whose outer IPv4 header or UDP checksum is wrong, as a capture taken on the sending host before checksum offload has them.")
    var ignoreChecksums = false

    @Flag(help: "Decapsulate Geneve (RFC 8926) instead of VXLAN; the default port is then 6081.")
    var geneve = false

    @Flag(help: "With --geneve, accept critical options, as a device made with `external` (collect metadata) does; without it a packet with the C bit set is dropped, as Linux drops it.")
    var external = false

    @Flag(help: "Accept VXLAN-GBP headers (ip link: gbp). Without it a header with the G flag is dropped, as Linux drops it.")
    var gbp = false

    func validate() throws {
        if let vni, vni > 0xFF_FFFF { throw ValidationError("--vni \(vni) exceeds 24 bits (at most 16777215)") }
        if external && !geneve { throw ValidationError("--external needs --geneve") }
        if dstport == 0 {
            throw ValidationError("--dstport 0: UDP port 0 is reserved and no VXLAN device listens on it; give 1-65535 (4789, or 8472 for Flannel)")
        }
    }

    func run() throws {
        let console = Console.standard()
        let status = Self.decapsulate(input: input, output: output, vni: vni,
                                      destinationPorts: dstport.map { [$0] }
                                          ?? (geneve ? FrameDecoder.defaultGenevePorts : FrameDecoder.defaultVXLANPorts),
                                      geneve: geneve, geneveExternal: external,
                                      udp6ZeroChecksumRx: udp6zerocsumrx, groupBasedPolicy: gbp,
                                      ignoreChecksums: ignoreChecksums, console: console)
        console.flush()
        if status != 0 { throw ExitCode(status) }
    }
}

extension Decap {
    /// Decapsulates every frame of `input` into `output`; returns the exit status.
    ///
    /// - Parameters:
    ///   - vni: the VNI to accept; nil accepts any.
    ///   - destinationPorts: the UDP ports a VXLAN packet may be sent to.
    static func decapsulate(input: String, output: String, vni: UInt32?, destinationPorts: [UInt16],
                            geneve: Bool = false, geneveExternal: Bool = false,
                            udp6ZeroChecksumRx: Bool = false, groupBasedPolicy: Bool = false,
                            ignoreChecksums: Bool = false, console: Console,
                            openWriter: CaptureConversion.WriterFactory = CaptureConversion.openWriter) -> Int32 {
        let firstPort = destinationPorts.first ?? TunnelConfiguration.ianaPort
        var endpoint = TunnelEndpoint(configuration: TunnelConfiguration(
            vni: vni ?? 0, local: .v4(.any), destinationPort: firstPort, udp6ZeroChecksumRx: udp6ZeroChecksumRx || ignoreChecksums,
            groupBasedPolicy: groupBasedPolicy))
        var geneveEndpoint = GeneveEndpoint(configuration: GeneveEndpoint.Configuration(
            vni: vni ?? 0, local: .v4(.any), destinationPort: firstPort, collectMetadata: geneveExternal))
        var reassembler = IPv4Reassembler()
        var reassembled = 0
        var partialChecksums = 0
        let report: CaptureConversion.Report
        do {
            report = try CaptureConversion.run(input: input, output: output, openWriter: openWriter, label: "decap") { frame, buffer in
                // Outer IPv4 fragments wait for their datagram (Linux reassembles before vxlan_rcv).
                if let step = Self.reassemble(frame, into: buffer, reassembler: &reassembler) {
                    switch step {
                    case .write: reassembled += 1
                    case .hold, .refuse: return step
                    }
                } else if !buffer.load(frame.bytes, headroom: CaptureConversion.headroom) {
                    return .refuse(code: "tooLarge", reason: "a \(frame.capturedLength)-byte frame does not fit the packet buffer")
                }
                // Without --vni or --dstport, the device takes the packet's own VNI and any listed port.
                let seen = VXLANFields(buffer.readableBytes)
                endpoint.configuration.vni = vni ?? seen?.vni ?? 0
                endpoint.configuration.destinationPort = firstPort
                if let port = seen?.destinationPort {
                    guard destinationPorts.contains(port) else {
                        return .refuse(code: DecapsulationError.Code.wrongPort.rawValue,
                                       reason: "UDP destination port \(port) is not "
                                           + destinationPorts.map(String.init).joined(separator: " or "))
                    }
                    endpoint.configuration.destinationPort = port
                }
                if OffloadChecksum.isPartial(buffer.readableBytes) { partialChecksums += 1 }
                if ignoreChecksums { OffloadChecksum.neutralise(buffer.readableBytes) }
                geneveEndpoint.configuration.vni = endpoint.configuration.vni
                geneveEndpoint.configuration.destinationPort = endpoint.configuration.destinationPort
                do throws(DecapsulationError) {
                    if geneve {
                        _ = try geneveEndpoint.decapsulate(buffer)
                    } else {
                        _ = try endpoint.decapsulate(buffer)
                    }
                } catch {
                    return .refuse(code: error.code.rawValue, reason: error.reason)
                }
                return .write
            }
        } catch {
            console.error("error: \(error); \(output) not written")
            return 1
        }
        var summary = "decap: read \(report.framesRead) frames from \(input), wrote \(report.framesWritten) inner frames to \(output)"
        if reassembled > 0 || report.framesHeld > 0 {
            summary += "; \(report.framesHeld) outer fragments held, \(reassembled) datagrams reassembled"
        }
        if reassembler.pendingCount > 0 {
            summary += ", \(reassembler.pendingCount) left incomplete"
        }
        console.error(summary)
        if let note = CaptureConversion.linkNote(report, command: "decap") { console.error(note) }
        if report.framesRefused > 0 {
            console.error("decap: refused \(report.framesRefused):")
            report.refusalLines.forEach(console.error)
        }
        if partialChecksums > 0 {
            console.error("decap: hint: \(partialChecksums) frame\(partialChecksums == 1 ? "" : "s") carry an outer UDP checksum that is only "
                          + "the pseudo-header's sum, as Linux leaves it for the NIC to finish (CHECKSUM_PARTIAL): the capture was "
                          + "taken on the sending host before checksum offload. "
                          + (ignoreChecksums ? "They were accepted (--ignore-checksums)." : "Run with --ignore-checksums to accept them."))
        }
        return 0
    }

    /// When `frame` is an outer IPv4 fragment: hands it to the reassembler and, when it completes a
    /// datagram, loads the frame's Ethernet header and the whole datagram into `buffer` (`.write`).
    /// Nil when the frame is not an IPv4 fragment (or too broken to tell).
    static func reassemble(_ frame: FrameView, into buffer: PacketBuffer,
                           reassembler: inout IPv4Reassembler) -> CaptureConversion.Step? {
        guard let ethernet = try? EthernetFrame(checking: frame.bytes), ethernet.etherType == .ipv4,
              let ip = try? IPv4Packet(checking: ethernet.payload, frameOffset: ethernet.payloadOffset), ip.isFragment
        else { return nil }
        guard ip.checksumIsValid() else {
            return .refuse(code: "malformed", reason: "an outer fragment's IPv4 header checksum is wrong (Linux drops it)")
        }
        switch reassembler.add(ip, time: frame.timestampNanoseconds, tag: frame.number) {
        case .notFragment:
            return nil
        case .held, .duplicate:
            return .hold
        case .discarded(let key, let reason):
            return .refuse(code: "reassembly", reason: "datagram \(key) discarded: \(reason)")
        case .tableFull(let key):
            return .refuse(code: "reassembly", reason: "datagram \(key) refused: too many incomplete datagrams")
        case .complete(let datagram):
            let header = ethernet.bytes.slice(0..<ethernet.headerLength)
            guard buffer.load(header, headroom: CaptureConversion.headroom),
                  let tail = buffer.append(datagram.bytes.count) else {
                return .refuse(code: "tooLarge", reason: "the reassembled datagram does not fit the packet buffer")
            }
            datagram.bytes.withUnsafeBytes { tail.copyMemory(from: $0) }
            return .write
        }
    }
}

/// Checksums as a capture on the sending host shows them: with checksum offload, Linux leaves in the UDP
/// checksum field only the folded sum of the pseudo-header (`udp_set_csum` stores `~csum_tcpudp_magic(saddr,
/// daddr, len, IPPROTO_UDP, 0)` and sets CHECKSUM_PARTIAL), and the NIC adds the data's sum on the way out.
enum OffloadChecksum {
    /// The outer IPv4 or IPv6 header of an untagged frame and its UDP header, when there are both.
    private static func outerUDP(_ frame: UnsafeRawBufferPointer) -> (ipStart: Int, udpStart: Int, pseudoHeader: PseudoHeader)? {
        let ipStart = EthernetFrame.minimumHeaderLength
        guard frame.count >= ipStart else { return nil }
        let network = frame.dropFirst(count: ipStart)
        switch EthernetFrame(unchecked: frame).etherType {
        case .ipv4:
            guard network.count >= IPv4Packet.minimumHeaderLength else { return nil }
            // Read without the total-length check: the checksums are what is being looked at.
            let ip = IPv4Packet(unchecked: network)
            let headerLength = ip.headerLength
            guard headerLength >= IPv4Packet.minimumHeaderLength, network.count >= headerLength + UDPDatagram.headerLength,
                  ip.protocol == .udp else { return nil }
            return (ipStart, ipStart + headerLength, .ipv4(source: ip.source, destination: ip.destination))
        case .ipv6:
            guard network.count >= IPv6Packet.headerLength + UDPDatagram.headerLength else { return nil }
            let ip = IPv6Packet(unchecked: network)
            guard ip.nextHeader == .udp else { return nil }
            return (ipStart, ipStart + IPv6Packet.headerLength, .ipv6(source: ip.source, destination: ip.destination))
        default:
            return nil
        }
    }

    /// Whether the outer UDP checksum is the pseudo-header's folded sum alone and does not verify.
    static func isPartial(_ frame: UnsafeRawBufferPointer) -> Bool {
        guard let (_, udp, pseudoHeader) = outerUDP(frame) else { return false }
        let header = UDPDatagram(unchecked: frame.dropFirst(count: udp))
        let length = header.length
        let field = header.checksum
        guard field != 0, length >= UDPDatagram.headerLength, udp + length <= frame.count,
              pseudoHeader.checksum(of: frame.slice(udp..<(udp + length)), protocol: .udp) != 0 else { return false }
        var sum = InternetChecksum()
        pseudoHeader.add(to: &sum, protocol: .udp, upperLength: length)
        return field == ~sum.checksum
    }

    /// For `--ignore-checksums`: writes a correct IPv4 header checksum and a zero ("none") UDP checksum
    /// into the frame, so the receive checks pass whatever the capture held.
    static func neutralise(_ frame: UnsafeRawBufferPointer) {
        guard let (ip, udp, pseudoHeader) = outerUDP(frame), let base = frame.baseAddress else { return }
        let bytes = UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(start: base, count: frame.count))
        bytes.setInteger(UInt16(0), at: udp + UDPDatagram.Field.checksum.lowerBound, as: UInt16.self)
        if case .ipv4 = pseudoHeader {
            let headerLength = udp - ip
            let checksum = ip + IPv4Packet.Field.checksum.lowerBound
            bytes.setInteger(UInt16(0), at: checksum, as: UInt16.self)
            bytes.setInteger(InternetChecksum.checksum(frame.slice(ip..<(ip + headerLength))), at: checksum, as: UInt16.self)
        }
    }
}

/// The UDP destination port and VNI of a VXLAN (or Geneve: its VNI sits at the same offset) frame, read
/// without checking anything else; nil when the frame does not get that far. `decapsulate` does the checking.
struct VXLANFields {
    var destinationPort: UInt16
    var vni: UInt32

    init?(_ frame: UnsafeRawBufferPointer) {
        guard let ethernet = try? EthernetFrame(checking: frame) else { return nil }
        let udpBytes: UnsafeRawBufferPointer
        switch ethernet.etherType {
        case .ipv4:
            guard let ip = try? IPv4Packet(checking: ethernet.payload), ip.protocol == .udp, !ip.isFragment else { return nil }
            udpBytes = ip.payload
        case .ipv6:
            guard let ip = try? IPv6Packet(checking: ethernet.payload), let upper = try? ip.upperLayer(),
                  upper.protocol == .udp, upper.fragment == nil else { return nil }
            udpBytes = ip.payload.dropFirst(count: upper.offset)
        default:
            return nil
        }
        guard let udp = try? UDPDatagram(checking: udpBytes),
              let vxlan = try? VXLANPacket(checking: udp.payload) else { return nil }
        destinationPort = udp.destinationPort
        vni = vxlan.vni
    }
}
