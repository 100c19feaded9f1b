import ArgumentParser
import Capture
import PacketWire

/// `overlay-sim decode FILE [--vxlan-port N]... [--json]`
struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode every frame of a pcap or pcapng file: underlay, VXLAN and inner frame.",
        discussion: """
            Prints one line a frame, outer and inner headers side by side, or with --json one JSON \
            object a frame (JSON Lines). Outer IPv4 fragments are reassembled: the datagram is shown on \
            the frame that completes it. Broken frames show their first problem and everything decoded \
            before it. If the file itself is damaged, the frames before the damage are printed, then \
            one line naming the file and frame; the exit status is then 1.
            """
    )

    @Argument(help: "The capture file (pcap or pcapng, Ethernet).")
    var file: String

    @Option(name: .customLong("vxlan-port"),
            help: "A UDP destination port to decode as VXLAN; repeat for several. Replaces the defaults, 4789 and 8472.")
    var vxlanPorts: [UInt16] = []

    @Option(name: .customLong("geneve-port"),
            help: "A UDP destination port to decode as Geneve (RFC 8926); repeat for several. Replaces the default, 6081.")
    var genevePorts: [UInt16] = []

    @Option(name: .customLong("vxlan-gpe-port"),
            help: "A UDP destination port to decode as VXLAN-GPE; repeat for several. Replaces the default, 4790.")
    var vxlanGPEPorts: [UInt16] = []

    @Flag(help: "Print JSON Lines instead of a table.")
    var json = false

    func validate() throws {
        if (vxlanPorts + genevePorts + vxlanGPEPorts).contains(0) {
            throw ValidationError("UDP port 0 is reserved (RFC 768 sends nothing to it); give a port from 1 to 65535")
        }
    }

    func run() throws {
        let console = Console.standard()
        let status = Self.decode(path: file, vxlanPorts: vxlanPorts.isEmpty ? FrameDecoder.defaultVXLANPorts : vxlanPorts,
                                 genevePorts: genevePorts.isEmpty ? FrameDecoder.defaultGenevePorts : genevePorts,
                                 vxlanGPEPorts: vxlanGPEPorts.isEmpty ? FrameDecoder.defaultVXLANGPEPorts : vxlanGPEPorts,
                                 json: json, console: console)
        console.flush()
        if status != 0 { throw ExitCode(status) }
    }

    /// Decodes the file at `path` and prints it; returns the exit status (0, or 1 when the file could
    /// not be opened or read to its end).
    static func decode(path: String, vxlanPorts: [UInt16], genevePorts: [UInt16] = FrameDecoder.defaultGenevePorts,
                       vxlanGPEPorts: [UInt16] = FrameDecoder.defaultVXLANGPEPorts, json: Bool, console: Console) -> Int32 {
        var summary = DecodeSummary()
        let reader: PcapReader
        do {
            reader = try PcapReader(path: path, recordsOverSnapLength: .refuse)
        } catch {
            console.error("error: \(error)")
            return 1
        }
        var decoder = FrameDecoder(vxlanPorts: vxlanPorts, vxlanGPEPorts: vxlanGPEPorts, genevePorts: genevePorts,
                                   linkType: reader.linkType)
        var progress = ProgressLine(label: "decode", totalBytes: reader.fileSize)
        defer { progress.finish() }
        // The table's address columns are as wide as the first frames need (IPv6 addresses are wider
        // than the IPv4 default): up to `lookAhead` rows wait until the widths are known.
        var table = DecodeTable()
        var waiting: [DecodedFrame] = []
        func flushWaiting() {
            guard !json, !waiting.isEmpty || summary.frames == 0 else { return }
            table.fit(waiting)
            console.output(table.header)
            waiting.forEach { console.output(table.row($0)) }
            waiting.removeAll()
        }
        var headerPrinted = false
        var failure: (any Error)?
        do {
            try reader.forEach { view in
                progress.update(frames: summary.frames + 1, bytesRead: reader.bytePosition)
                let decoded = decoder.decode(view)
                summary.add(decoded)
                if json {
                    console.output(decoded.jsonLine)
                } else if headerPrinted {
                    console.output(table.row(decoded))
                } else {
                    waiting.append(decoded)
                    if waiting.count >= DecodeTable.lookAhead {
                        flushWaiting()
                        headerPrinted = true
                    }
                }
            }
        } catch {
            failure = error
        }
        if !json && !headerPrinted {
            table.fit(waiting)
            console.output(table.header)
            waiting.forEach { console.output(table.row($0)) }
        }
        if !json {
            console.output(summary.line(incompleteDatagrams: decoder.reassembler.pendingCount))
        }
        if let failure {
            console.error("error: \(failure)")
            return 1
        }
        return 0
    }
}

/// Counts for the table's last line.
struct DecodeSummary {
    var frames = 0
    var vxlan = 0
    var vxlanGPE = 0
    var geneve = 0
    var cut = 0
    var fragments = 0
    var reassembled = 0
    var errors = 0
    var badChecksums = 0

    mutating func add(_ frame: DecodedFrame) {
        frames += 1
        if frame.vxlan != nil { vxlan += 1 }
        if frame.vxlanGPE != nil { vxlanGPE += 1 }
        if frame.geneve != nil { geneve += 1 }
        if frame.cut != nil { cut += 1 }
        if frame.fragment != nil { fragments += 1 }
        if frame.fragment?.reassembledFrames != nil { reassembled += 1 }
        if frame.error != nil { errors += 1 }
        if frame.outer.ip?.checksumValid == false || frame.outer.udp?.checksumValid == false { badChecksums += 1 }
    }

    func line(incompleteDatagrams: Int) -> String {
        var parts = ["\(frames) frame\(frames == 1 ? "" : "s")", "\(vxlan) VXLAN"]
        if vxlanGPE > 0 { parts.append("\(vxlanGPE) VXLAN-GPE") }
        if geneve > 0 { parts.append("\(geneve) Geneve") }
        if cut > 0 { parts.append("\(cut) cut by the snapshot length") }
        if fragments > 0 {
            parts.append("\(fragments) outer fragment\(fragments == 1 ? "" : "s"), \(reassembled) datagram\(reassembled == 1 ? "" : "s") reassembled")
        }
        if incompleteDatagrams > 0 { parts.append("\(incompleteDatagrams) datagram\(incompleteDatagrams == 1 ? "" : "s") left incomplete") }
        parts.append("\(badChecksums) with a bad checksum")
        parts.append("\(errors) with errors")
        return parts.joined(separator: ", ")
    }
}

/// The readable form: one line a frame, outer and inner side by side.
struct DecodeTable {
    /// How many rows are looked at to size the address columns before the first is printed.
    static let lookAhead = 1000
    /// The address columns' widths: at least the IPv4 layout's, wider for the frames' IPv6 addresses.
    var outerWidth = 37
    var innerWidth = 31

    /// The header of a table sized for IPv4 and MAC addresses.
    static var header: String { DecodeTable().header }

    var header: String { line("#", "len", "outer src → dst", "sport → dport", "VNI", "inner src → dst", "proto", "notes") }

    /// Widens the address columns to fit `frames`.
    mutating func fit(_ frames: [DecodedFrame]) {
        for frame in frames {
            outerWidth = max(outerWidth, Self.outerAddresses(frame).count)
            innerWidth = max(innerWidth, Self.innerAddresses(frame).count)
        }
    }

    static func row(_ frame: DecodedFrame) -> String { DecodeTable().row(frame) }

    static func outerAddresses(_ frame: DecodedFrame) -> String {
        if let ip = frame.outer.ip { return "\(ip.source) → \(ip.destination)" }
        if let ethernet = frame.outer.ethernet { return "\(ethernet.source) → \(ethernet.destination)" }
        if let cooked = frame.outer.linuxCooked { return "\(cooked.source ?? "-") →" }
        return "-"
    }

    static func innerAddresses(_ frame: DecodedFrame) -> String {
        if let ip = frame.inner?.ip { return "\(ip.source) → \(ip.destination)" }
        if let ethernet = frame.inner?.ethernet { return "\(ethernet.source) → \(ethernet.destination)" }
        return "-"
    }

    func row(_ frame: DecodedFrame) -> String {
        let outer = Self.outerAddresses(frame)
        let ports = frame.outer.udp.map { "\($0.sourcePort) → \($0.destinationPort)" } ?? "-"
        let vni = (frame.vxlan?.vni ?? frame.vxlanGPE?.vni ?? frame.geneve?.vni).map { "\($0)" } ?? "-"
        let inner = Self.innerAddresses(frame)
        return line("\(frame.frame)", "\(frame.length)", outer, ports, vni, inner, Self.protocolName(frame), Self.notes(frame))
    }

    /// The innermost protocol decoded: the inner packet's, or the outer's when there is no inner frame.
    static func protocolName(_ frame: DecodedFrame) -> String {
        let ethernet = frame.inner != nil ? frame.inner?.ethernet : frame.outer.ethernet
        let etherType = ethernet?.etherType ?? (frame.inner == nil ? frame.outer.linuxCooked?.protocol : nil)
        let ip: (version: Int, protocol: Int)? = frame.inner != nil
            ? frame.inner?.ip.map { ($0.version, $0.protocol) }
            : frame.outer.ip.map { ($0.version, $0.protocol) }
        if let ip {
            let name = IPProtocol(rawValue: UInt8(truncatingIfNeeded: ip.protocol)).name
            return name == "unknown" ? "IP \(ip.protocol)" : name
        }
        if frame.inner?.nsh != nil { return "NSH" }
        guard let etherType else { return "-" }
        switch EtherType(rawValue: UInt16(truncatingIfNeeded: etherType)) {
        case .arp: return "ARP"
        case .ipv4: return "IPv4"
        case .ipv6: return "IPv6"
        case let other: return "0x" + String(other.rawValue, radix: 16)
        }
    }

    static func notes(_ frame: DecodedFrame) -> String {
        var notes: [String] = []
        if let cooked = frame.outer.linuxCooked {
            notes.append((cooked.interfaceIndex.map { "ifindex \($0) " } ?? "") + cooked.direction)
        }
        if let tags = frame.outer.ethernet?.vlanIDs, !tags.isEmpty {
            notes.append("vlan " + tags.map(String.init).joined(separator: ","))
        }
        if let ip = frame.outer.ip {
            if ip.checksumValid == false { notes.append("bad IPv4 checksum") }
            if ip.dontFragment == true { notes.append("DF") }
        }
        if let udp = frame.outer.udp {
            switch (udp.checksum, udp.checksumValid) {
            case (0, nil): notes.append("no UDP checksum")
            case (0, _): notes.append("zero UDP checksum over IPv6")
            case (_, false): notes.append("bad UDP checksum")
            default: break
            }
        }
        if let fragment = frame.fragment {
            let more = fragment.moreFragments ? " MF" : ""
            if let frames = fragment.reassembledFrames {
                notes.append("reassembled id \(fragment.identification) from frames "
                    + frames.map(String.init).joined(separator: ","))
            } else {
                notes.append("fragment id \(fragment.identification) offset \(fragment.offset)\(more)")
            }
        }
        if let vxlan = frame.vxlan {
            if let id = vxlan.groupPolicyID {
                let flags = vxlan.groupPolicyFlags ?? 0
                notes.append("gbp \(id)" + (flags & 0x40 != 0 ? " D" : "") + (flags & 0x08 != 0 ? " A" : ""))
            }
        }
        if let gpe = frame.vxlanGPE {
            notes.append("VXLAN-GPE next \(VXLANGPENextProtocol(rawValue: UInt8(truncatingIfNeeded: gpe.nextProtocol)))"
                         + (gpe.oam ? " OAM" : ""))
        }
        if let nsh = frame.inner?.nsh {
            notes.append("NSH spi \(nsh.servicePathIdentifier) si \(nsh.serviceIndex)")
        }
        if let geneve = frame.geneve {
            var text = "Geneve" + (geneve.critical ? " C" : "") + (geneve.oam ? " O" : "")
            for option in geneve.options {
                text += " opt 0x\(String(option.optionClass, radix: 16)):0x\(String(option.type, radix: 16))"
                    + (option.critical ? "!" : "") + " \(option.data)"
            }
            notes.append(text)
        }
        if let vlans = frame.inner?.ethernet?.vlanIDs, !vlans.isEmpty {
            notes.append("inner vlan " + vlans.map(String.init).joined(separator: ","))
        }
        if let cut = frame.cut {
            notes.append("cut at \(frame.capturedLength) of \(frame.length) bytes, in the \(cut.description)")
        } else if frame.capturedLength < frame.length {
            notes.append("captured \(frame.capturedLength) of \(frame.length) bytes")
        }
        if let summary = frame.inner?.summary { notes.append(summary) }
        if let error = frame.error { notes.append("error: " + error.message) }
        return notes.joined(separator: "; ")
    }

    /// Columns padded to fixed widths; a value wider than its column pushes the rest right.
    private func line(_ number: String, _ length: String, _ outer: String, _ ports: String, _ vni: String,
                      _ inner: String, _ proto: String, _ notes: String) -> String {
        let text = Self.pad(number, 5, right: true) + " " + Self.pad(length, 5, right: true) + "  " + Self.pad(outer, outerWidth) + "  "
            + Self.pad(ports, 13) + "  " + Self.pad(vni, 8, right: true) + "  " + Self.pad(inner, innerWidth) + "  "
            + Self.pad(proto, 6) + "  " + notes
        return String(text.reversed().drop { $0 == " " }.reversed())
    }

    private static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
