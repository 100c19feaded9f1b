import PacketWire

/// The TCP header a pod's socket sends, with the options Linux puts on it, as a fixed-size value so that
/// building a segment allocates nothing (PacketWire's `TCPHeader` keeps its options in an array).
///
/// The options are written in the layout of net/ipv4/tcp_output.c `tcp_options_write`: MSS first; then
/// timestamps, led by SACK-permitted when both are offered (`04 02 08 0a`), else by two NOPs; a lone
/// SACK-permitted after two NOPs; window scale after one NOP. A SYN from a 6.18 socket with the default
/// sysctls therefore carries 20 bytes (`mss, sackOK, TS, nop, wscale`) and each later segment 12
/// (`nop, nop, TS`), measured on this machine's kernel.
struct TCPSegmentHeader: Equatable {
    var sourcePort: UInt16
    var destinationPort: UInt16
    var sequenceNumber: UInt32
    var acknowledgmentNumber: UInt32 = 0
    var flags: TCPFlags
    var window: UInt16
    var payloadLength = 0
    /// The MSS option (SYN and SYN-ACK only).
    var maximumSegmentSize: UInt16?
    /// SACK-permitted (SYN and SYN-ACK, with `tcp_sack`).
    var sackPermitted = false
    /// The timestamps option (RFC 7323 §3): TSval and TSecr.
    var timestamps: (value: UInt32, echoReply: UInt32)?
    /// The window scale shift (SYN and SYN-ACK, with `tcp_window_scaling`).
    var windowScale: UInt8?

    static func == (a: TCPSegmentHeader, b: TCPSegmentHeader) -> Bool {
        a.sourcePort == b.sourcePort && a.destinationPort == b.destinationPort && a.sequenceNumber == b.sequenceNumber
            && a.acknowledgmentNumber == b.acknowledgmentNumber && a.flags == b.flags && a.window == b.window
            && a.payloadLength == b.payloadLength && a.maximumSegmentSize == b.maximumSegmentSize
            && a.sackPermitted == b.sackPermitted && a.timestamps?.value == b.timestamps?.value
            && a.timestamps?.echoReply == b.timestamps?.echoReply && a.windowScale == b.windowScale
    }

    /// Option bytes, already a multiple of 4 in Linux's layout.
    var optionsLength: Int {
        var length = maximumSegmentSize == nil ? 0 : 4
        if timestamps != nil { length += 12 } else if sackPermitted { length += 4 }
        if windowScale != nil { length += 4 }
        return length
    }

    var headerLength: Int { TCPSegment.minimumHeaderLength + optionsLength }
    var length: Int { headerLength + payloadLength }

    /// Writes the header at the start of `bytes`, whose bytes after the header already hold the data, and
    /// fills the checksum over `pseudoHeader` (RFC 9293 §3.1).
    func emit(into bytes: UnsafeMutableRawBufferPointer, checksum pseudoHeader: PseudoHeader) {
        let headerLength = self.headerLength
        // The data offset first, so the view's checks see the header this value describes.
        bytes.setInteger(UInt8(headerLength / 4) << 4, at: TCPSegment.Field.dataOffset, as: UInt8.self)
        guard let segment = try? MutableTCPSegment(checking: bytes.slice(0..<length)) else { return }
        segment.sourcePort = sourcePort
        segment.destinationPort = destinationPort
        segment.sequenceNumber = sequenceNumber
        segment.acknowledgmentNumber = acknowledgmentNumber
        segment.flags = flags
        segment.window = window
        segment.urgentPointer = 0
        let options = segment.optionBytes
        var offset = 0
        func word(_ value: UInt32) {
            options.setInteger(value, at: offset, as: UInt32.self)
            offset += 4
        }
        let nop = UInt32(TCPOption.Kind.noOperation)
        if let mss = maximumSegmentSize {
            word(UInt32(TCPOption.Kind.maximumSegmentSize) << 24 | 4 << 16 | UInt32(mss))
        }
        if let timestamps {
            let lead = sackPermitted ? UInt32(TCPOption.Kind.sackPermitted) << 8 | 2 : nop << 8 | nop
            word(lead << 16 | UInt32(TCPOption.Kind.timestamps) << 8 | 10)
            word(timestamps.value)
            word(timestamps.echoReply)
        } else if sackPermitted {
            word(nop << 24 | nop << 16 | UInt32(TCPOption.Kind.sackPermitted) << 8 | 2)
        }
        if let shift = windowScale {
            word(nop << 24 | UInt32(TCPOption.Kind.windowScale) << 16 | 3 << 8 | UInt32(shift))
        }
        segment.fillChecksum(pseudoHeader)
    }
}
