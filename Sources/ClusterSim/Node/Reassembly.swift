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

    /// RFC 791 fragmentation of an IPv4 packet (outer, or a pod's) into pieces that fit `mtu`, by
    /// PacketWire's `IPv4Fragmenter` (Linux `ip_do_fragment`): the first piece stays in the buffer, the others
    /// go into pooled buffers; each carries the Ethernet header and a copy of the IP header, and a packet that
    /// was itself a non-last fragment keeps more-fragments on its last piece.
    func fragment(_ buffer: PacketBuffer, mtu: Int) -> [PacketBuffer] {
        let bytes = buffer.readableBytes
        guard let frame = IPv4Frame(bytes),
              let fragmenter = try? IPv4Fragmenter(frame.ip, linkHeader: bytes.slice(0..<frame.ethernet.headerLength), mtu: mtu),
              fragmenter.count > 1 else { return [buffer] }
        var pieces = [buffer]
        for index in 1..<fragmenter.count {
            let piece = pool.take()
            fragmenter.emitPiece(index, into: piece)
            pieces.append(piece)
        }
        // Last: it shortens the original, which the other pieces were copied from.
        fragmenter.formFirstPieceInPlace(in: buffer)
        return pieces
    }
}
