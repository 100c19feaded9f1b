import Capture

/// `drops.pcapng`: every frame of drops.pcap, each with its drop's reason as a pcapng comment
/// (`opt_comment`, draft-ietf-opsawg-pcapng §4.2), so Wireshark shows why beside the bytes
/// (`frame.comment`; `tshark -r drops.pcapng -Y 'frame.comment contains "firewallDenied"'`), and each
/// place where frames were dropped as an interface of its own (an Interface Description Block whose
/// `if_name` is the place, shown as `frame.interface_name`).
///
/// A comment reads `CODE at PLACE (flow FLOW): SENTENCE`, the code first so a filter on it is exact.
/// Interfaces are described when their first drop is written, so their order (and the file) follows
/// the run's own order of events and repeats byte for byte. libpcap opens a pcapng file only once it
/// has seen an interface, so a run without drops gets one, named `none`, that no frame uses.
final class DropCaptureWithReasons {
    let writer: PcapngWriter
    /// Interface index of each place seen so far.
    private var interfaces: [String: Int] = [:]

    /// Bytes of the Section Header Block (with `shb_userappl` "overlay-sim"), for `--max-capture-bytes`:
    /// 24 fixed, the option, the end of options, the trailing length.
    static let sectionHeaderBytes: UInt64 = 24 + 4 + padded("overlay-sim".utf8.count) + 4 + 4
    /// Each place's `if_description`.
    static let interfaceDescription = "where overlay-sim dropped these frames"
    /// The longest snapshot every interface shares: libpcap refuses a file whose interfaces differ in
    /// link type or snapshot length (libpcap `sf-pcapng.c`, `add_interface`), so all have tcpdump's.
    static let snapLength: UInt32 = 262_144
    /// The interface a run without drops describes, so that libpcap can open the file.
    static let noDropsInterface = "none"

    init(_ writer: PcapngWriter) {
        self.writer = writer
    }

    /// Writes one dropped frame on its place's interface, describing the interface first if new.
    /// - Returns: The bytes added to the file, for `--max-capture-bytes`.
    /// - Throws: ``CaptureError`` when the interface cannot be described (the writer failed earlier).
    func write(_ bytes: UnsafeRawBufferPointer, timestampNanoseconds: UInt64, place: String, reason: DropReason,
               flow: String?) throws(CaptureError) -> UInt64 {
        var added: UInt64 = 0
        let interface: Int
        if let known = interfaces[place] {
            interface = known
        } else {
            interface = try writer.addInterface(name: place, snapLength: Self.snapLength,
                                                description: Self.interfaceDescription)
            interfaces[place] = interface
            // 20 fixed and trailing, if_name, if_description, if_tsresol, the end of options.
            added += 20 + 4 + Self.padded(place.utf8.count) + 4 + Self.padded(Self.interfaceDescription.utf8.count) + 8 + 4
        }
        let comment = Self.comment(place: place, reason: reason, flow: flow)
        writer.write(interface: interface, bytes: bytes, timestampNanoseconds: timestampNanoseconds, comment: comment)
        // 28 fixed, the frame, opt_comment, the end of options, the trailing length.
        return added + 28 + Self.padded(bytes.count) + 4 + Self.padded(comment.utf8.count) + 4 + 4
    }

    /// `CODE at PLACE (flow FLOW): SENTENCE`.
    static func comment(place: String, reason: DropReason, flow: String?) -> String {
        "\(reason.code.rawValue) at \(place)" + (flow.map { " (flow \($0))" } ?? "") + ": \(reason.sentence)"
    }

    /// Finishes the file under its final name.
    func close() throws(CaptureError) {
        if writer.interfaces.isEmpty, writer.error == nil {
            try writer.addInterface(name: Self.noDropsInterface, snapLength: Self.snapLength,
                                    description: "no frame was dropped in this run")
        }
        try writer.close()
    }

    private static func padded(_ count: Int) -> UInt64 { UInt64((count + 3) & ~3) }
}
