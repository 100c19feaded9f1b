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

    /// Writes the INIT at `offset` of `bytes` (which must hold ``length`` bytes from there), checksum filled.
    static func emit(into bytes: UnsafeMutableRawBufferPointer, at offset: Int, sourcePort: UInt16, destinationPort: UInt16,
                     initiateTag: UInt32, initialTSN: UInt32) {
        func put16(_ value: UInt16, _ at: Int) { bytes.storeBytes(of: value.bigEndian, toByteOffset: offset + at, as: UInt16.self) }
        func put32(_ value: UInt32, _ at: Int) { bytes.storeBytes(of: value.bigEndian, toByteOffset: offset + at, as: UInt32.self) }
        put16(sourcePort, 0)
        put16(destinationPort, 2)
        put32(0, 4)
        put32(0, 8)
        bytes[offset + 12] = 1
        bytes[offset + 13] = 0
        put16(UInt16(initChunkLength), 14)
        // §3.3.2: the Initiate Tag MUST NOT be 0.
        put32(initiateTag == 0 ? 1 : initiateTag, 16)
        put32(receiverWindow, 20)
        put16(outboundStreams, 24)
        put16(inboundStreams, 26)
        put32(initialTSN, 28)
        let checksum = crc32c(UnsafeRawBufferPointer(bytes).slice(offset..<(offset + length)))
        // RFC 9260 Appendix A: the CRC32c goes in least significant byte first (Linux `sctp_compute_cksum`
        // returns `cpu_to_le32` of the remainder).
        bytes.storeBytes(of: checksum.littleEndian, toByteOffset: offset + 8, as: UInt32.self)
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
        SCTPInit.emit(into: bytes, at: transportStart, sourcePort: sourcePort, destinationPort: destinationPort,
                      initiateTag: initiateTag, initialTSN: initiateTag)
        finish(buffer, addressing, protocol: SCTPInit.ipProtocol, upperLength: SCTPInit.length)
    }
}
