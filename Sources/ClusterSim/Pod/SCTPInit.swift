import PacketWire

/// The one SCTP packet the simulation sends: an INIT, the first packet of an association (RFC 9260 §3.3.2),
/// which is what a NetworkPolicy probe of an SCTP port needs (the e2e tests' agnhost client opens an
/// association; whether the INIT arrives is whether the port is reachable).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Source Port Number        |     Destination Port Number   |  common header (RFC 9260 §3.1)
/// |                      Verification Tag (0 in an INIT)          |
/// |                           Checksum (CRC32c)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Type = 1    |  Chunk Flags  |      Chunk Length = 20        |  INIT chunk (RFC 9260 §3.3.2)
/// |                         Initiate Tag                          |
/// |           Advertised Receiver Window Credit (a_rwnd)          |
/// |  Number of Outbound Streams   |  Number of Inbound Streams    |
/// |                          Initial TSN                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// No optional parameters: the receiver needs none to answer (§3.3.2.1 lists them all as optional).
enum SCTPInit {
    static let commonHeaderLength = 12
    static let initChunkLength = 20
    static let length = commonHeaderLength + initChunkLength
    static let ipProtocol = IPProtocol(rawValue: 132)
    /// Linux's defaults for a new association's INIT: 10 outbound streams (`sctp_max_outstreams` default,
    /// net/sctp/protocol.c `SCTP_DEFAULT_OUTSTREAMS`), 65535 inbound (`SCTP_MAX_STREAM`), and an a_rwnd of
    /// the socket's receive buffer (here 106496, the usual `net.core.rmem_default` of 212992 halved).
    static let outboundStreams: UInt16 = 10
    static let inboundStreams: UInt16 = 65535
    static let receiverWindow: UInt32 = 106_496

    /// The fields' byte ranges from the start of the SCTP packet (the diagram above).
    enum Field {
        static let sourcePort = 0..<2
        static let destinationPort = 2..<4
        static let verificationTag = 4..<8
        static let checksum = 8..<12
        static let chunkType = 12..<13
        static let chunkFlags = 13..<14
        static let chunkLength = 14..<16
        static let initiateTag = 16..<20
        static let receiverWindow = 20..<24
        static let outboundStreams = 24..<26
        static let inboundStreams = 26..<28
        static let initialTSN = 28..<32
    }

    /// The INIT chunk's type (RFC 9260 §3.2).
    static let initChunkType: UInt8 = 1

    /// Writes the INIT into `bytes` (exactly ``length`` bytes), checksum filled.
    static func emit(into bytes: UnsafeMutableRawBufferPointer, sourcePort: UInt16, destinationPort: UInt16,
                     initiateTag: UInt32, initialTSN: UInt32) {
        func put16(_ value: UInt16, _ field: Range<Int>) { bytes.storeBytes(of: value.bigEndian, toByteOffset: field.lowerBound, as: UInt16.self) }
        func put32(_ value: UInt32, _ field: Range<Int>) { bytes.storeBytes(of: value.bigEndian, toByteOffset: field.lowerBound, as: UInt32.self) }
        put16(sourcePort, Field.sourcePort)
        put16(destinationPort, Field.destinationPort)
        put32(0, Field.verificationTag)
        put32(0, Field.checksum)
        bytes.storeBytes(of: initChunkType, toByteOffset: Field.chunkType.lowerBound, as: UInt8.self)
        bytes.storeBytes(of: UInt8(0), toByteOffset: Field.chunkFlags.lowerBound, as: UInt8.self)
        put16(UInt16(initChunkLength), Field.chunkLength)
        // §3.3.2: the Initiate Tag MUST NOT be 0.
        put32(initiateTag == 0 ? 1 : initiateTag, Field.initiateTag)
        put32(receiverWindow, Field.receiverWindow)
        put16(outboundStreams, Field.outboundStreams)
        put16(inboundStreams, Field.inboundStreams)
        put32(initialTSN, Field.initialTSN)
        let checksum = crc32c(UnsafeRawBufferPointer(bytes).slice(0..<length))
        // RFC 9260 Appendix A: the CRC32c goes in least significant byte first (Linux `sctp_compute_cksum`
        // returns `cpu_to_le32` of the remainder).
        bytes.storeBytes(of: checksum.littleEndian, toByteOffset: Field.checksum.lowerBound, as: UInt32.self)
    }

    /// CRC32c (Castagnoli, reflected polynomial 0x82F63B78), RFC 9260 Appendix A, computed bitwise: one INIT
    /// per probe, never on a hot path.
    static func crc32c(_ data: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}

extension PodPackets {
    /// Ethernet, IPv4 and an SCTP INIT (see ``SCTPInit``).
    static func sctpInit(_ buffer: PacketBuffer, _ addressing: Addressing, sourcePort: UInt16, destinationPort: UInt16,
                         initiateTag: UInt32) {
        guard let bytes = buffer.append(transportStart + SCTPInit.length) else { return }
        SCTPInit.emit(into: bytes.slice(transportStart..<(transportStart + SCTPInit.length)), sourcePort: sourcePort,
                      destinationPort: destinationPort, initiateTag: initiateTag, initialTSN: initiateTag)
        finish(buffer, addressing, protocol: SCTPInit.ipProtocol, upperLength: SCTPInit.length)
    }
}
