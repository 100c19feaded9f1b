#!/usr/bin/python3
"""Generate malformed / unusual frame fixtures for overlay-sim.

Run with Debian's scapy (python3-scapy 2.5):  /usr/bin/python3 make_odd.py [OUTDIR]
Default OUTDIR is ./odd next to this script. Output is deterministic
(fixed timestamps, fixed IP IDs, fixed ports, fixed random seed).

Files written:
  odd.pcap          classic pcap (LE, usec, snaplen 65535, linktype 1 EN10MB), frames 1..N
  truncated.pcap    odd.pcap minus its last 10 bytes (last record cut mid-data)
  snaplen-bad.pcap  global snaplen 100, one record with incl_len = orig_len = 200
  empty.pcap        0 bytes
  header-only.pcap  24-byte global header, no records
  random.bin        4096 pseudo-random bytes, random.Random(20240601)
  odd.pcapng        produced separately with `editcap -F pcapng odd.pcap odd.pcapng`
"""
import os
import random
import struct
import sys

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1AD, Dot1Q, Ether, ICMPv6PacketTooBig,
                       IPOption_Router_Alert, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop,
                       PadN, Raw, RawPcapWriter, RouterAlert)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "odd")
os.makedirs(OUT, exist_ok=True)

# ---- common addressing (same plan as the kernel vectors) -------------------
NODE_A_MAC, NODE_B_MAC = "02:00:00:00:0a:01", "02:00:00:00:0b:01"   # underlay NICs
VTEP_A_MAC, VTEP_B_MAC = "02:00:00:00:aa:01", "02:00:00:00:bb:01"   # vxlan devices
NODE_A4, NODE_B4 = "192.0.2.1", "192.0.2.2"
NODE_A6, NODE_B6 = "2001:db8:77::1", "2001:db8:77::2"
POD_A, POD_B = "10.244.0.5", "10.244.1.7"
SPORT = 50000          # outer UDP source port (kernel would hash the inner flow)
VNI = 42


def inner(seq=1):
    """Inner overlay frame: pod A -> pod B ICMP echo request, 56 bytes payload."""
    return (Ether(src=VTEP_A_MAC, dst=VTEP_B_MAC) /
            IP(src=POD_A, dst=POD_B, id=0x1000 + seq, flags="DF", ttl=63) /
            ICMP(type=8, id=0x4242, seq=seq) / Raw(bytes(range(56))))


def vxlan_hdr(flags=0x08, byte1=0x00, gpid=0, vni=VNI):
    """8-byte VXLAN header built byte-exactly (flags, GBP byte1, 16-bit policy id, VNI<<8)."""
    return struct.pack("!BBH", flags, byte1, gpid) + struct.pack("!I", vni << 8)


def outer4(payload, ip_id, **ipkw):
    """Underlay Ether/IPv4/UDP 4789 around `payload` (bytes)."""
    return (Ether(src=NODE_A_MAC, dst=NODE_B_MAC) /
            IP(src=NODE_A4, dst=NODE_B4, id=ip_id, ttl=64, **ipkw) /
            UDP(sport=SPORT, dport=4789) / Raw(payload))


frames = []   # (description, bytes, wirelen or None)


def add(desc, pkt, wirelen=None):
    frames.append((desc, bytes(pkt), wirelen))


# (a) VXLAN with the I flag clear: flags byte 0x00 (RFC 7348 says receivers must
#     drop frames with I=0; the kernel's vxlan_rcv does so). Otherwise valid, VNI 42.
add("(a) IPv4/UDP 4789 VXLAN VNI 42 with I flag clear (flags byte 0x00)",
    outer4(vxlan_hdr(flags=0x00) + bytes(inner(1)), ip_id=0x0001))

# (b) Valid VXLAN frame but the outer UDP checksum is wrong: compute the correct
#     checksum then flip it (x ^ 0x5555, never 0 / never the 0xffff alias).
p = outer4(vxlan_hdr() + bytes(inner(2)), ip_id=0x0002)
good = Ether(bytes(p))[UDP].chksum
p[UDP].chksum = good ^ 0x5555
add("(b) IPv4/UDP 4789 VXLAN VNI 42, outer UDP checksum wrong (correct ^ 0x5555 = 0x%04x, correct 0x%04x)"
    % (good ^ 0x5555, good), p)

# (c) Valid VXLAN frame but the outer IPv4 header checksum is wrong.
p = outer4(vxlan_hdr() + bytes(inner(3)), ip_id=0x0003)
good = Ether(bytes(p))[IP].chksum
p[IP].chksum = good ^ 0x5555
add("(c) IPv4/UDP 4789 VXLAN VNI 42, outer IPv4 header checksum wrong (0x%04x, correct 0x%04x)"
    % (good ^ 0x5555, good), p)

# (d) Outer IPv4 header with options: IHL 6 (24 bytes) = 20 + Router Alert
#     option (94 04 00 00). Checksums are correct.
add("(d) IPv4 IHL=6 (Router Alert option 94 04 00 00) / UDP 4789 / VXLAN VNI 42",
    outer4(vxlan_hdr() + bytes(inner(4)), ip_id=0x0004, options=[IPOption_Router_Alert()]))

# (e) 802.1Q tagged outer frame (TPID 0x8100, PCP 0, VID 100) carrying IPv4/UDP/VXLAN.
add("(e) 802.1Q VID 100 / IPv4 / UDP 4789 / VXLAN VNI 42",
    Ether(src=NODE_A_MAC, dst=NODE_B_MAC, type=0x8100) / Dot1Q(vlan=100, type=0x0800) /
    IP(src=NODE_A4, dst=NODE_B4, id=0x0005, ttl=64) / UDP(sport=SPORT, dport=4789) /
    Raw(vxlan_hdr() + bytes(inner(5))))

# (f) QinQ: outer S-tag TPID 0x88a8 VID 200, inner C-tag TPID 0x8100 VID 100, then IPv4/UDP/VXLAN.
add("(f) QinQ 0x88a8 VID 200 / 0x8100 VID 100 / IPv4 / UDP 4789 / VXLAN VNI 42",
    Ether(src=NODE_A_MAC, dst=NODE_B_MAC, type=0x88a8) / Dot1AD(vlan=200, type=0x8100) /
    Dot1Q(vlan=100, type=0x0800) /
    IP(src=NODE_A4, dst=NODE_B4, id=0x0006, ttl=64) / UDP(sport=SPORT, dport=4789) /
    Raw(vxlan_hdr() + bytes(inner(6))))

# (g) VXLAN-GBP: flags 0x88 (G + I), byte1 0x48 (D = don't learn 0x40, A = policy
#     applied 0x08), group policy id 0x0abc (2748), VNI 42. Header: 88 48 0a bc 00 00 2a 00
add("(g) IPv4/UDP 4789 VXLAN-GBP flags 0x88, D+A (0x48), policy id 0x0abc, VNI 42",
    outer4(vxlan_hdr(flags=0x88, byte1=0x48, gpid=0x0abc) + bytes(inner(7)), ip_id=0x0007))

# (h) IPv6 outer with Hop-by-Hop (Router Alert + PadN) then Destination Options
#     (PadN) extension headers, then UDP 4789 / VXLAN. UDP checksum valid.
add("(h) IPv6 / HBH (RouterAlert) / DestOpt (PadN) / UDP 4789 / VXLAN VNI 42",
    Ether(src=NODE_A_MAC, dst=NODE_B_MAC) /
    IPv6(src=NODE_A6, dst=NODE_B6, hlim=64, fl=0x12345) /
    IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), PadN(optdata=b"")]) /
    IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00\x00\x00\x00")]) /
    UDP(sport=SPORT, dport=4789) / Raw(vxlan_hdr() + bytes(inner(8))))

# (i) Plain pod-to-pod TCP SYN with MSS 1460, SACK-permitted, timestamps, window scale 7
#     (option layout like Linux: MSS, SAckOK, TS, NOP, WScale = 20 bytes, data offset 10).
add("(i) IPv4 / TCP SYN 10.244.0.5:40000 -> 10.244.1.7:8080, opts MSS 1460, SAckOK, TS, NOP, WS 7",
    Ether(src="02:00:00:00:c0:01", dst="02:00:00:00:c0:ff") /
    IP(src=POD_A, dst=POD_B, id=0x0009, flags="DF", ttl=64) /
    TCP(sport=40000, dport=8080, seq=0x01020304, flags="S", window=64240,
        options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456789, 0)),
                 ("NOP", None), ("WScale", 7)]))

# Original outer VXLAN packet (1450-byte IPv4, DF) that the ICMP errors below quote:
# IPv4 header (20) + first 8 bytes (the UDP header), the RFC 792 minimum.
def quote(ttl):
    orig = bytes(IP(src=NODE_A4, dst=NODE_B4, id=0x0a0a, flags="DF", ttl=ttl) /
                 UDP(sport=SPORT, dport=4789) / Raw(vxlan_hdr() + b"\x00" * (1450 - 20 - 8 - 8)))
    return orig[:28]

# (j) ICMP Destination Unreachable / Fragmentation Needed (type 3 code 4),
#     next-hop MTU 1400, quoting the original IPv4 header + 8 bytes of UDP.
add("(j) IPv4 ICMP type 3 code 4 frag-needed, next-hop MTU 1400, quotes IPv4+UDP (28 bytes) of 192.0.2.1->192.0.2.2:4789",
    Ether(src=NODE_B_MAC, dst=NODE_A_MAC) /
    IP(src="198.51.100.1", dst=NODE_A4, id=0x000a, ttl=64) /
    ICMP(type=3, code=4, nexthopmtu=1400) / Raw(quote(63)))   # quoted TTL 63 (one hop used)

# (k) ICMP Time Exceeded in transit (type 11 code 0), same quoted header.
add("(k) IPv4 ICMP type 11 code 0 time exceeded, quotes IPv4+UDP (28 bytes)",
    Ether(src=NODE_B_MAC, dst=NODE_A_MAC) /
    IP(src="198.51.100.1", dst=NODE_A4, id=0x000b, ttl=64) /
    ICMP(type=11, code=0) / Raw(quote(1)))    # quoted TTL 1 (expired at this router)

# (l) ICMPv6 Packet Too Big (type 2), MTU 1280, quoting IPv6 header + UDP + VXLAN
#     header + start of the inner frame (64 bytes of the invoking packet).
orig6 = bytes(IPv6(src=NODE_A6, dst=NODE_B6, hlim=64) / UDP(sport=SPORT, dport=4789) /
              Raw(vxlan_hdr() + bytes(inner(12)) + b"\x00" * 1300))
add("(l) IPv6 ICMPv6 type 2 packet too big, MTU 1280, quotes first 64 bytes of an IPv6/UDP/VXLAN packet",
    Ether(src=NODE_B_MAC, dst=NODE_A_MAC) /
    IPv6(src="2001:db8:77::fe", dst=NODE_A6, hlim=64) /
    ICMPv6PacketTooBig(mtu=1280) / Raw(orig6[:64]))

# (m) ARP request (broadcast) and reply, unpadded 42-byte frames like a local capture.
add("(m1) ARP request who-has 192.0.2.2 tell 192.0.2.1 (42 bytes, no padding)",
    Ether(src=NODE_A_MAC, dst="ff:ff:ff:ff:ff:ff") /
    ARP(op=1, hwsrc=NODE_A_MAC, psrc=NODE_A4, hwdst="00:00:00:00:00:00", pdst=NODE_B4))
add("(m2) ARP reply 192.0.2.2 is-at 02:00:00:00:0b:01 (42 bytes, no padding)",
    Ether(src=NODE_B_MAC, dst=NODE_A_MAC) /
    ARP(op=2, hwsrc=NODE_B_MAC, psrc=NODE_B4, hwdst=NODE_A_MAC, pdst=NODE_A4))

# (n) IPv6 outer VXLAN with UDP checksum 0 (allowed only with udp6zerocsumrx, RFC 6935/6936).
p = (Ether(src=NODE_A_MAC, dst=NODE_B_MAC) / IPv6(src=NODE_A6, dst=NODE_B6, hlim=64) /
     UDP(sport=SPORT, dport=4789, chksum=0) / Raw(vxlan_hdr() + bytes(inner(14))))
add("(n) IPv6 / UDP 4789 checksum 0x0000 / VXLAN VNI 42", p)

# (o) Truncated capture: a complete IPv4/UDP/VXLAN frame of 1064 bytes on the wire
#     (IPv4 total length 1050) but only the first 96 bytes captured
#     (pcap incl_len 96, orig_len 1064). IPv4 total length exceeds the captured bytes.
full = bytes(outer4(vxlan_hdr() + bytes(Ether(src=VTEP_A_MAC, dst=VTEP_B_MAC) /
                                        IP(src=POD_A, dst=POD_B, id=0x100f, flags="DF", ttl=63) /
                                        ICMP(type=8, id=0x4242, seq=15) /
                                        Raw(b"\xab" * (1050 - 20 - 8 - 8 - 14 - 20 - 8))),
                    ip_id=0x000f))
assert len(full) == 1064, len(full)
frames.append(("(o) IPv4/UDP/VXLAN, IPv4 total length 1050 but only 96 of 1064 bytes captured "
               "(incl_len 96 < orig_len 1064)", full[:96], len(full)))

# (p) Ethernet frame with unknown / local-experimental ethertype 0x88b5, 46 bytes payload.
add("(p) Ethernet ethertype 0x88b5 (IEEE local experimental), 46-byte payload",
    Ether(src=NODE_A_MAC, dst=NODE_B_MAC, type=0x88b5) / Raw(b"overlay-sim odd ethertype " + bytes(20)))

# ---- write odd.pcap ---------------------------------------------------------
BASE = 1700000000
odd = os.path.join(OUT, "odd.pcap")
w = RawPcapWriter(odd, linktype=1, endianness="<", snaplen=65535, sync=True)
w.write_header(None)   # write_packet() does not emit the global header by itself
for i, (desc, data, wirelen) in enumerate(frames):
    w.write_packet(data, sec=BASE, usec=1000 * (i + 1), wirelen=wirelen)
w.close()

# ---- truncated.pcap: odd.pcap minus the final 10 bytes ------------------------
raw = open(odd, "rb").read()
open(os.path.join(OUT, "truncated.pcap"), "wb").write(raw[:-10])

# ---- snaplen-bad.pcap: snaplen 100 in the global header, record incl_len 200 ----
rec = bytes(Ether(src=NODE_A_MAC, dst=NODE_B_MAC) / IP(src=NODE_A4, dst=NODE_B4, id=0x0100, ttl=64) /
            UDP(sport=SPORT, dport=4789) / Raw(vxlan_hdr() + bytes(inner(16))))
rec = (rec + bytes(200))[:200]   # exactly 200 bytes (IPv4 length field no longer matches; fine)
with open(os.path.join(OUT, "snaplen-bad.pcap"), "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 100, 1))     # global header, snaplen 100
    f.write(struct.pack("<IIII", BASE, 0, 200, 200))                     # record: incl_len 200 > snaplen
    f.write(rec)

# ---- empty.pcap / header-only.pcap -------------------------------------------
open(os.path.join(OUT, "empty.pcap"), "wb").close()
with open(os.path.join(OUT, "header-only.pcap"), "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))

# ---- random.bin ---------------------------------------------------------------
open(os.path.join(OUT, "random.bin"), "wb").write(random.Random(20240601).randbytes(4096))

for i, (desc, data, wirelen) in enumerate(frames, 1):
    print("%2d  %4d/%-4d  %s" % (i, len(data), wirelen or len(data), desc))
