import CPcap

/// A link-layer header type, as libpcap's `DLT_` values name it (`DLT_EN10MB`, `DLT_RAW`, ...).
///
/// libpcap translates between these values and the `LINKTYPE_` values stored in files, so a
/// `LinkType` is what ``PcapWriter`` is given and what ``PcapReader`` reports. Open to values
/// nobody named here yet.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `DLT_` value.
    public let rawValue: Int32

    /// Wraps a `DLT_` value.
    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Ethernet II and IEEE 802.3 frames (`DLT_EN10MB`): what overlay-sim writes and reads.
    public static let ethernet = LinkType(rawValue: DLT_EN10MB)

    /// Raw IPv4 or IPv6 packets with no link-layer header (`DLT_RAW`).
    public static let rawIP = LinkType(rawValue: DLT_RAW)

    /// Linux cooked capture v1 (`DLT_LINUX_SLL`, 113): what `tcpdump -i any` writes. A 16-byte header
    /// with the packet's direction and source address replaces the link-layer header.
    public static let linuxSLL = LinkType(rawValue: DLT_LINUX_SLL)

    /// Linux cooked capture v2 (`DLT_LINUX_SLL2`, 276): `tcpdump -y LINUX_SLL2 -i any`; its 20-byte header
    /// adds the interface index.
    public static let linuxSLL2 = LinkType(rawValue: DLT_LINUX_SLL2)

    /// The link types ``PcapReader`` reads and ``FrameDecoder`` decodes.
    public static let decodable: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .rawIP]

    /// The `LINKTYPE_` value a file stores, which differs from the `DLT_` value for a few types
    /// (`DLT_RAW` is 12 or 14 by platform, `LINKTYPE_RAW` is 101); pcapng files hold this.
    public var fileValue: Int32 {
        self == .rawIP ? 101 : rawValue
    }

    /// libpcap's short name for the type (`"EN10MB"`, `"RAW"`), or `nil` if libpcap does not know it.
    public var name: String? {
        pcap_datalink_val_to_name(rawValue).map { String(cString: $0) }
    }

    /// `"EN10MB - 1"`: the name and the number, or `"unknown - N"`.
    public var description: String {
        "\(name ?? "unknown") - \(rawValue)"
    }
}
