import PacketWire

extension Network {
    /// Puts a frame on one direction of a link: the link's middleboxes, then the transmitter (queue, tail
    /// drop, serialisation, latency, seeded loss); the frame arrives at the far end as an event.
    func transmit(_ buffer: PacketBuffer, _ tag: PacketTag, on id: DirectionID) {
        underlay.withDirection(id) { transmit(buffer, tag, on: $0) }
    }

    private func transmit(_ buffer: PacketBuffer, _ tag: PacketTag, on direction: LinkDirection) {
        var tag = tag
        let id = direction.id
        if firewalls.hasMiddleboxes(on: id) {
            let point = "link \(underlay[direction.from].name)→\(underlay[direction.to].name)"
            for box in firewalls.middleboxes(on: id) {
                guard passFirewall(box.device, .transit(outbound: box.outbound), buffer, &tag, at: point,
                                   rejectFrom: direction.from) else { return }
            }
        }
        let admission = direction.admit(length: buffer.count, innerLength: tag.innerLength, now: now) { random.nextUnit() }
        let point = { "link \(self.underlay[direction.from].name)→\(self.underlay[direction.to].name)" }
        switch admission {
        case .queueFull:
            drop(buffer, tag, at: point(), DropReason(.queueFull, "queue of \(direction.spec.queue) packets full (tail drop)"))
        case .lost:
            drop(buffer, tag, at: point(), DropReason(.linkLoss, "lost on the link (loss \(direction.spec.loss))"))
        case .arrives(let time):
            observers.trace(tag, point(), "\(buffer.count) bytes on the wire, arriving at \(Units.exact(time))", time: now)
            scheduler.schedule(at: time, .arrive(buffer, tag, at: direction.to, via: id))
        }
    }
}
