// PacketWire: byte-level wire formats for overlay-sim.
//
// The contract every protocol file keeps (after smoltcp's wire module):
//
// - Each header has a zero-copy view over bytes (`IPv4Packet`, `UDPDatagram`, ...) and a plain value
//   (`IPv4Header`, `UDPHeader`, ...).
// - A view is made with `init(checking:frameOffset:)`. It checks every length the header's fields depend
//   on; after it succeeds no accessor can read out of bounds. `frameOffset` says where the view starts in
//   the bytes being decoded, so an error deeper in a frame names its absolute byte offset.
// - Every value is read from its checked view the same way: `init(_ view)`, which throws a `DecodeError`
//   (layer, offset, what was expected) exactly when the standard lets the bytes hold something the value
//   refuses, and does not throw otherwise (`EthernetHeader`, `IPv6Header`, `IPv6FragmentHeader`). A
//   checksum that covers only the layer's own bytes (IPv4 header, ICMPv4) is verified unless
//   `verifyingChecksum: false`; one that covers a pseudo-header (UDP, TCP, ICMPv6) is verified when the
//   pseudo-header is given, `verifyingWith: pseudoHeader` (nil skips it).
// - The verbs mean one thing each: `checksumIsValid()` and `expectedChecksum()` are methods on every view
//   (taking the pseudo-header where the checksum covers one); `getInteger(at:as:)` reads at an offset and
//   never consumes (ByteAccess.swift); `fillChecksum` writes one (mutable views); `rewrite...` changes a
//   field and patches its checksums.
// - Getters and emitters read and write through the `Field` offset table each view declares; no other
//   literal offset is used for a fixed field.
// - `emit(into:)` never fails into a buffer of at least `headerLength` (or `length`) bytes and fills
//   lengths and checksums itself. Checksummed layers are emitted innermost first, so the data they cover
//   is already in place.
// - Nothing here traps on input bytes, however hostile; preconditions guard only programming errors in
//   emit (a buffer smaller than the header).
// - Parsing and emitting allocate nothing: IPv4 options are kept inline (`IPv4Options`, at most 40 bytes)
//   and walked in place (`IPv4OptionSequence`), so encapsulation and decapsulation run allocation-free.
//   (TCP options, decoded into an array, are the exception; the hot path never decodes them.)
//
// Writing (mutable views, RFC 1624 rewrites, the fragmenter):
//
// - Beside each read-only view of IPv4, IPv6, UDP, TCP, ICMPv4, ICMPv6 and Ethernet is a mutable one
//   (`MutableIPv4Packet`, ...) over `UnsafeMutableRawBufferPointer`, made with the same
//   `init(checking:frameOffset:)` (the same checks) or with `init(formatting:...)`, which writes the
//   fields that fix the header's extent (version and lengths) so a header can be built from scratch.
//   Its getters are the read-only view's (`readOnly` gives that view of the same bytes).
// - After either init, no getter and no setter reads or writes outside the buffer. A setter writes its
//   own field only. Setters of fields that bound the header (IPv4 IHL and total length, TCP data
//   offset, UDP length, IPv6 payload length) take only values that keep the header inside the buffer;
//   another value is a programming error and stops the program (precondition), never an input error.
// - A setter leaves checksums alone; `fillChecksum()` (`fillChecksum(_ pseudoHeader:)` where the
//   checksum covers a pseudo-header) recomputes one from scratch. The `rewrite...` methods (address,
//   port, TTL, echo identifier) change a field and patch every checksum covering it by RFC 1624 eqn. 3,
//   as Linux's NAT and forwarding do: the result equals a recomputation (both give 0x0000, never 0xFFFF,
//   for a one's-complement zero; see Checksum.swift), a UDP checksum of 0 stays 0, and a UDP checksum
//   that comes out 0 is sent as 0xFFFF. A checksum that was wrong before a rewrite stays wrong by the
//   same amount.
// - `IPv4Fragmenter` writes each fragment into a buffer the caller supplies (or turns the original into
//   the first fragment in place) and allocates nothing.
//
// Reading what is cut short (lenient views):
//
// - `PartialIPv4Packet`, `PartialIPv6Packet`, `PartialUDPDatagram` and `PartialTCPSegment` read a header
//   that may stop early: the datagram quoted in an ICMP error (`ICMPv4Message.invokingIPv4Packet()`,
//   `ICMPv6Message.invokingIPv6Packet()`) or a frame cut by a capture's snap length. Every field is nil
//   exactly when its bytes are missing; no accessor reads past the bytes given. A verdict that needs
//   missing bytes (a checksum, whether a length fits) is nil, never false.
// - `shortfall` names the first gap (layer, header or payload, bytes needed and present). Its `error` is
//   exactly the `DecodeError` the strict view throws for the same bytes; nil means the strict view
//   accepts them (`complete` returns it).
// - They throw only for what no cut explains: a wrong version, a header or length field below its minimum.
