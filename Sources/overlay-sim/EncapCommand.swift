import ArgumentParser
import Capture
import PacketWire
import VXLAN

/// `overlay-sim encap IN OUT --vni N --local IP --remote IP [...]`
struct Encap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a pod-side capture into the underlay capture a Linux VXLAN device would send.",
        discussion: """
            Every Ethernet frame of IN gets outer Ethernet, IP, UDP and VXLAN headers exactly as the \
            Linux vxlan driver builds them, and is written to OUT with its timestamp. Options follow \
            `ip link add ... type vxlan`: --tos takes hex as ip does, --srcport MIN MAX draws ports from \
            MIN up to MAX-1. Frames that cannot be encapsulated (cut short by the capture, too long for \
            one IP datagram) are counted on standard error by reason, with their frame numbers. Every \
            frame is sent from --local to --remote, whichever way it went between the pods.
            """
    )

    @Argument(help: "The pod-side capture (pcap or pcapng, Ethernet).")
    var input: String

    @Argument(help: "The underlay capture to write (pcap, nanosecond timestamps).")
    var output: String

    @Option(help: "The 24-bit VXLAN network identifier (ip link: id).")
    var vni: UInt32

    @Option(help: "The local VTEP's underlay address, IPv4 or IPv6.")
    var local: String

    @Option(help: "The far VTEP's underlay address, of the same family as --local.")
    var remote: String

    @Option(help: "The outer UDP destination port: IANA's 4789, or 8472 as Flannel and Linux's own default (6081 with --geneve).")
    var dstport: UInt16?

    @Flag(help: "Encapsulate in Geneve (RFC 8926, UDP 6081) instead of VXLAN, as OVN-Kubernetes, Antrea and Cilium's Geneve mode do.")
    var geneve = false

    @Option(name: .customLong("geneve-option"), parsing: .singleValue,
            help: ArgumentHelp("With --geneve, an option on every packet: CLASS:TYPE:HEXDATA (e.g. 0x0102:0x80:00000001; type 0x80 and up is critical). Repeat for several.",
                               valueName: "class:type:data"))
    var geneveOptions: [String] = []

    @Flag(help: "Send each frame from the VTEP on its sender's side: the inner source of the first IP frame sits behind --local; a frame from an address seen behind --remote (or to one behind --local) goes from --remote to --local. Without it every frame goes from --local to --remote.")
    var direction = false

    @Option(parsing: .upToNextOption,
            help: ArgumentHelp("The outer UDP source port range MIN MAX (MAX excluded), as ip link takes it. Default 32768 61000, Linux's ephemeral range; RFC 7348 recommends 49152 65535.",
                               valueName: "min max"))
    var srcport: [UInt16] = []

    @Flag(help: "Compute the outer UDP checksum over IPv4 (udpcsum, Linux 6.x's default) or send zero (noudpcsum). Over IPv6 the checksum is always computed unless --udp6zerocsumtx.")
    var udpChecksum: UDPChecksumChoice = .udpcsum

    @Flag(name: .customLong("udp6zerocsumtx"), help: "Over an IPv6 underlay, send a zero UDP checksum (RFC 6935), as ip link's udp6zerocsumtx.")
    var udp6ZeroChecksumTx = false

    @Option(help: "Outer IPv4 Don't Fragment: unset, set, or inherit from the inner packet.")
    var df: String = "unset"

    @Option(help: "Outer TTL / hop limit: auto (64), inherit (the inner packet's), or a number 1-255.")
    var ttl: String = "auto"

    @Option(help: "Outer TOS / traffic class: inherit, or a hex value as ip link takes it (28 means 0x28). ECN is always copied from the inner packet.")
    var tos: String?

    @Option(help: "Carry VXLAN-GBP with this group policy ID (1-65535) on every frame, as a device with gbp does for marked packets.")
    var gbp: UInt16?

    @Option(name: .customLong("source-mac"), help: "Outer source MAC. Default: 02:00 and the last four bytes of --local.")
    var sourceMAC: String?

    @Option(name: .customLong("destination-mac"), help: "Outer destination MAC (next hop). Default: 02:00 and the last four bytes of --remote.")
    var destinationMAC: String?

    @Option(help: "Seed of the flow hash that picks source ports (and IPv6 flow labels).")
    var seed: UInt32 = 0

    /// `--udpcsum` / `--noudpcsum`, spelled as ip link spells them.
    enum UDPChecksumChoice: String, EnumerableFlag {
        case udpcsum, noudpcsum
    }

    func validate() throws {
        _ = try geneveConfiguration()
        if dstport == 0 {
            throw ValidationError("--dstport 0: UDP port 0 is reserved and Linux would put it on the wire; give 1-65535 (4789, or 8472 for Flannel)")
        }
        _ = try tunnelConfiguration()
    }

    func run() throws {
        let console = Console.standard()
        let configuration = try tunnelConfiguration()
        let status = Self.encapsulate(input: input, output: output, configuration: configuration,
                                      groupPolicyID: gbp ?? 0, geneve: try geneveConfiguration(), direction: direction,
                                      console: console)
        console.flush()
        if status != 0 { throw ExitCode(status) }
    }

    /// The device these options describe, read by the same parser as `ip link ... type vxlan` words.
    func tunnelConfiguration() throws(ValidationError) -> TunnelConfiguration {
        var words = ["id", "\(vni)", "local", local, "remote", remote, "dstport", "\(dstport ?? TunnelConfiguration.ianaPort)",
                     "ttl", ttl, "df", df, udpChecksum.rawValue]
        if !srcport.isEmpty {
            guard srcport.count == 2 else {
                throw ValidationError("--srcport takes two ports, MIN and MAX; got \(srcport.count)")
            }
            words += ["srcport", "\(srcport[0])", "\(srcport[1])"]
        }
        if let tos {
            let digits = tos.hasPrefix("0x") ? String(tos.dropFirst(2)) : tos
            guard tos == "inherit" || UInt8(digits, radix: 16) != nil else {
                throw ValidationError("--tos: '\(tos)' is neither inherit nor a hex byte (00-ff) as ip link takes it")
            }
            words += ["tos", tos]
        }
        if gbp != nil { words.append("gbp") }
        if udp6ZeroChecksumTx { words.append("udp6zerocsumtx") }
        if gbp == 0 {
            throw ValidationError("--gbp 0 is an unmarked packet, which Linux sends without the GBP extension; give 1-65535")
        }
        var configuration: TunnelConfiguration
        do {
            configuration = try TunnelConfiguration(ipLinkArguments: words)
        } catch {
            throw ValidationError("--\(error.word == "id" ? "vni" : error.word): \(error.reason)")
        }
        guard let remoteAddress = configuration.remote, remoteAddress.isIPv6 == configuration.local.isIPv6 else {
            throw ValidationError("--local \(local) and --remote \(remote) are different address families")
        }
        configuration.underlaySourceMAC = try Self.mac(sourceMAC, option: "source-mac", default: configuration.local)
        configuration.underlayNextHopMAC = try Self.mac(destinationMAC, option: "destination-mac", default: remoteAddress)
        configuration.flowHashSeed = seed
        return configuration
    }

    /// The Geneve device these options describe, or nil without --geneve.
    func geneveConfiguration() throws(ValidationError) -> GeneveEndpoint.Configuration? {
        guard geneve else {
            if !geneveOptions.isEmpty { throw ValidationError("--geneve-option needs --geneve") }
            return nil
        }
        if gbp != nil { throw ValidationError("--gbp is a VXLAN extension; Geneve carries policy in options (--geneve-option)") }
        var options: [GeneveOption] = []
        for text in geneveOptions {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            func number(_ part: String) -> UInt64? {
                part.hasPrefix("0x") ? UInt64(part.dropFirst(2), radix: 16) : UInt64(part)
            }
            let hex = parts.count == 3 ? (parts[2].hasPrefix("0x") ? String(parts[2].dropFirst(2)) : parts[2]) : ""
            var data: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex),
                  let byte = UInt8(hex[index..<next], radix: 16) {
                data.append(byte)
                index = next
            }
            guard parts.count == 3, let optionClass = number(parts[0]).flatMap(UInt16.init(exactly:)),
                  let type = number(parts[1]).flatMap(UInt8.init(exactly:)), index == hex.endIndex,
                  data.count % 4 == 0, data.count <= 124 else {
                throw ValidationError("--geneve-option '\(text)': expected CLASS:TYPE:HEXDATA, CLASS up to 0xffff, TYPE up to 0xff, "
                                      + "data a multiple of 4 bytes, at most 124 (RFC 8926 §3.5)")
            }
            options.append(GeneveOption(optionClass: optionClass, type: type, data: data))
        }
        let vxlan = try tunnelConfiguration()
        let ttl: UInt8 = if case .fixed(let value) = vxlan.ttl { value } else { 64 }
        return GeneveEndpoint.Configuration(
            vni: vxlan.vni, local: vxlan.local, remote: vxlan.remote, destinationPort: dstport ?? GenevePacket.port,
            sourcePortRange: vxlan.sourcePortRange, ttl: ttl, udpChecksum: vxlan.udpChecksum, options: options,
            underlaySourceMAC: vxlan.underlaySourceMAC, underlayNextHopMAC: vxlan.underlayNextHopMAC, flowHashSeed: seed)
    }

    /// The MAC given, or a locally administered one made from the address: 02:00 and its last four bytes.
    static func mac(_ text: String?, option: String, default address: IPAddress) throws(ValidationError) -> MACAddress {
        if let text {
            guard let mac = MACAddress(text) else {
                throw ValidationError("--\(option): '\(text)' is not a MAC address like 02:00:c0:00:02:01")
            }
            return mac
        }
        let low: UInt32 = switch address {
        case .v4(let v4): v4.rawValue
        case .v6(let v6): UInt32(truncatingIfNeeded: v6.low)
        }
        return MACAddress(rawValue: 0x0200_0000_0000 | UInt64(low))
    }
}

extension Encap {
    /// Encapsulates every frame of `input` into `output`; returns the exit status.
    static func encapsulate(input: String, output: String, configuration: TunnelConfiguration, groupPolicyID: UInt16,
                            geneve: GeneveEndpoint.Configuration? = nil, direction: Bool = false, console: Console,
                            openWriter: CaptureConversion.WriterFactory = CaptureConversion.openWriter) -> Int32 {
        // One endpoint per direction: the far VTEP sends with its own addresses, MACs and IP ID counter.
        var reversed = configuration
        if let remote = configuration.remote {
            reversed.local = remote
            reversed.remote = configuration.local
            reversed.underlaySourceMAC = configuration.underlayNextHopMAC
            reversed.underlayNextHopMAC = configuration.underlaySourceMAC
        }
        var endpoints = [TunnelEndpoint(configuration: configuration), TunnelEndpoint(configuration: reversed)]
        var geneveEndpoints = geneve.map { forward in
            var backward = forward
            backward.local = forward.remote ?? forward.local
            backward.remote = forward.local
            backward.underlaySourceMAC = forward.underlayNextHopMAC
            backward.underlayNextHopMAC = forward.underlaySourceMAC
            return [GeneveEndpoint(configuration: forward), GeneveEndpoint(configuration: backward)]
        }
        var sides = DirectionLearner()
        var reversedFrames = 0
        // An IP datagram holds at most 65535 bytes; the tunnel adds its headers after the outer IP header.
        let tunnelHeaders = geneve.map { $0.overhead - 14 - ($0.local.isIPv6 ? 40 : 20) } ?? 16
        let largestInner = configuration.local.isIPv6 ? 65535 - tunnelHeaders : 65535 - 20 - tunnelHeaders
        let report: CaptureConversion.Report
        do {
            report = try CaptureConversion.run(input: input, output: output, openWriter: openWriter, label: "encap") { frame, buffer in
                if frame.capturedLength < frame.originalLength {
                    return .refuse(code: "cutShort", reason: "the capture kept \(frame.capturedLength) of the frame's "
                                   + "\(frame.originalLength) bytes; the rest cannot be encapsulated")
                }
                if frame.capturedLength < EthernetFrame.minimumHeaderLength {
                    return .refuse(code: "runt", reason: "\(frame.capturedLength) bytes are less than an Ethernet header")
                }
                if frame.capturedLength > largestInner {
                    return .refuse(code: "tooLarge", reason: "a \(frame.capturedLength)-byte frame does not fit one "
                                   + "outer IP datagram (at most \(largestInner) bytes; segment GSO frames first)")
                }
                let side = direction && sides.isFromRemote(frame.bytes) ? 1 : 0
                reversedFrames += side
                guard buffer.load(frame.bytes, headroom: CaptureConversion.headroom) else {
                    return .refuse(code: "tooLarge", reason: "a \(frame.capturedLength)-byte frame does not fit the packet buffer")
                }
                do throws(EncapsulationError) {
                    if geneveEndpoints != nil {
                        try geneveEndpoints?[side].encapsulate(buffer)
                    } else {
                        try endpoints[side].encapsulate(buffer, groupPolicyID: groupPolicyID)
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
        let device = geneve.map { configuration in
            "geneve id \(configuration.vni) remote \(configuration.remote.map { "\($0)" } ?? "-") local \(configuration.local) "
                + "dstport \(configuration.destinationPort) ttl \(configuration.ttl) \(configuration.udpChecksum ? "udpcsum" : "noudpcsum")"
                + (configuration.options.isEmpty ? "" : " options " + configuration.options.map(\.description).joined(separator: "; "))
        } ?? configuration.ipLinkDescription
        console.error("encap: read \(report.framesRead) frames from \(input), wrote \(report.framesWritten) to \(output) "
                      + "(\(device))")
        if direction {
            console.error("encap: \(report.framesWritten - reversedFrames) frames sent from \(configuration.local), "
                          + "\(reversedFrames) from \(configuration.remote.map { "\($0)" } ?? "-") (--direction)")
        }
        if let note = CaptureConversion.linkNote(report, command: "encap") { console.error(note) }
        if report.framesRefused > 0 {
            console.error("encap: refused \(report.framesRefused):")
            report.refusalLines.forEach(console.error)
        }
        return 0
    }
}

/// Which side of the tunnel a frame's sender sits on, learned from the inner addresses as a capture goes
/// by: the first IP (or ARP) frame's source is behind --local; afterwards a frame whose source was seen
/// behind --remote, or whose destination was seen behind --local, is from the remote side, and each frame
/// teaches both of its addresses. MAC addresses stand in when a frame has no IP header.
struct DirectionLearner {
    private var local: Set<[UInt8]> = []
    private var remote: Set<[UInt8]> = []

    /// The frame's inner source and destination: IPv4 or IPv6 addresses, ARP's sender and target, else MACs.
    static func addresses(_ frame: UnsafeRawBufferPointer) -> (source: [UInt8], destination: [UInt8]) {
        guard let ethernet = try? EthernetFrame(checking: frame) else { return ([], []) }
        let payload = ethernet.payload
        switch ethernet.etherType {
        case .ipv4 where payload.count >= 20:
            return (Array(payload.slice(12..<16)), Array(payload.slice(16..<20)))
        case .ipv6 where payload.count >= 40:
            return (Array(payload.slice(8..<24)), Array(payload.slice(24..<40)))
        case .arp where payload.count >= 28:
            return (Array(payload.slice(14..<18)), Array(payload.slice(24..<28)))
        default:
            return (Array(frame.slice(6..<12)), Array(frame.slice(0..<6)))
        }
    }

    mutating func isFromRemote(_ frame: UnsafeRawBufferPointer) -> Bool {
        let (source, destination) = Self.addresses(frame)
        let fromRemote = remote.contains(source) || local.contains(destination)
        if fromRemote {
            remote.insert(source)
            if !Self.isGroup(destination) { local.insert(destination) }
        } else {
            local.insert(source)
            if !Self.isGroup(destination) { remote.insert(destination) }
        }
        return fromRemote
    }

    /// Broadcast and multicast destinations say nothing about a side.
    static func isGroup(_ address: [UInt8]) -> Bool {
        guard let first = address.first else { return true }
        switch address.count {
        case 4: return first >= 224 || address == [0, 0, 0, 0]
        case 16: return first == 0xff
        case 6: return first & 1 == 1
        default: return true
        }
    }
}
