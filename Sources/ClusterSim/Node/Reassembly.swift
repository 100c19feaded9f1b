import PacketWire

extension Network {
    /// Acts on what a reassembler said about a fragment: the whole frame (the fragment's Ethernet header
    /// and the datagram) once complete; nil while waiting, or after dropping what cannot be reassembled.
    func reassembled(_ outcome: IPv4Reassembler.Outcome, _ buffer: PacketBuffer, _ tag: PacketTag,
                     at point: String) -> PacketBuffer? {
        switch outcome {
        case .notFragment:
            return buffer
        case .held, .duplicate:
            pool.release(buffer)
            return nil
        case .complete(let datagram):
            let whole = pool.take()
            let ethernet = IPv4Frame.ethernetHeaderLength
            _ = whole.append(ethernet).map { $0.copyMemory(from: buffer.readableBytes.slice(0..<ethernet)) }
            datagram.bytes.withUnsafeBytes { raw in _ = whole.append(raw.count).map { $0.copyMemory(from: raw) } }
            pool.release(buffer)
            return whole
        case .discarded(_, let reason):
            drop(buffer, tag, at: point, DropReason(.reassemblyFailed, "datagram discarded: \(reason)"))
            return nil
        case .tableFull:
            drop(buffer, tag, at: point, DropReason(.reassemblyFailed, "reassembly table full"))
            return nil
        }
    }

    /// RFC 791 fragmentation of an IPv4 packet (outer, or a pod's) into pieces that fit `mtu`; the first
    /// piece reuses the buffer. Fragments carry copies of the header, options included, and keep the
    /// more-fragments flag of a packet that was itself a fragment.
    func fragment(_ buffer: PacketBuffer, mtu: Int) -> [PacketBuffer] {
        let original = buffer.bytes
        let ethernet = IPv4Frame.ethernetHeaderLength
        guard let view = original.withUnsafeBytes({ raw in IPv4Frame(raw).map { ($0.headerLength, $0.moreFragments, $0.fragmentOffset) } }) else {
            return [buffer]
        }
        let (headerLength, originalMore, originalOffset) = view
        let payload = original.count - ethernet - headerLength
        let chunk = (mtu - headerLength) / 8 * 8
        var pieces: [PacketBuffer] = []
        var offset = 0
        while offset < payload {
            let size = min(chunk, payload - offset)
            let piece = offset == 0 ? buffer : pool.take()
            piece.reset()
            original.withUnsafeBytes { raw in
                _ = piece.append(ethernet + headerLength).map { $0.copyMemory(from: raw.slice(0..<(ethernet + headerLength))) }
                _ = piece.append(size).map { $0.copyMemory(from: raw.slice((ethernet + headerLength + offset)..<(ethernet + headerLength + offset + size))) }
            }
            let more = offset + size < payload || originalMore
            MutableIPv4Frame(piece.mutableBytes)?.setFragment(totalLength: headerLength + size, moreFragments: more,
                                                              offsetUnits: originalOffset / 8 + offset / 8)
            pieces.append(piece)
            offset += size
        }
        return pieces
    }
}
