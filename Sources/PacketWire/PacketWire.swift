// PacketWire: byte-level wire formats for overlay-sim.
//
// The contract every protocol file keeps (after smoltcp's wire module):
//
// - Each header has a zero-copy view over bytes (`IPv4Packet`, `UDPDatagram`, ...) and a plain value
//   (`IPv4Header`, `UDPHeader`, ...).
// - A view is made with `init(checking:frameOffset:)`. It checks every length the header's fields depend
//   on; after it succeeds no accessor can read out of bounds. `frameOffset` says where the view starts in
//   the bytes being decoded, so an error deeper in a frame names its absolute byte offset.
// - A value is read from a checked view with `init(_ view)`. Where the standard defines a checksum or a
//   value that must hold, this is where it is verified; the error is a `DecodeError` naming the layer, the
//   offset and what was expected.
// - `emit(into:)` never fails into a buffer of at least `headerLength` (or `length`) bytes and fills
//   lengths and checksums itself. Checksummed layers are emitted innermost first, so the data they cover
//   is already in place.
// - Nothing here traps on input bytes, however hostile; preconditions guard only programming errors in
//   emit (a buffer smaller than the header).
// - Parsing and emitting allocate nothing for the headers the hot path sees (no options, no extension
//   headers kept), so encapsulation and decapsulation run allocation-free.
