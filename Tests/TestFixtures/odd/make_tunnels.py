#!/usr/bin/python3
"""Tunnel and GSO frames this machine's kernel cannot send, made with scapy for overlay-sim's decoder.

Run with Debian's scapy (python3-scapy 2.5): /usr/bin/python3 make_tunnels.py [OUTDIR]  (default: ./odd)
Deterministic (fixed times, IDs, ports). The kernel here has no CONFIG_GENEVE, so Geneve comes from
here; VXLAN-GPE with NSH or Ethernet inside needs a sender (OVS, tc) the kernel lacks too; BIG TCP's
length-0 packets need an iproute2 newer than Debian 12's. Frames (tunnels.pcap):
  1  Geneve, no options, Ethernet + ICMP echo inside                         (OVN-Kubernetes' plain case)
  2  Geneve with two options: class 0x0102 type 0x80 (critical) and 0x0103 type 0x01, C bit set
  3  Geneve carrying IPv4 directly (protocol type 0x0800, Linux `innerprotoinherit`)
  4  Geneve over IPv6 underlay, an OAM packet
  5  VXLAN-GPE next protocol NSH (SPI 42, SI 255, MD type 2, no context) then IPv4
  6  VXLAN-GPE next protocol Ethernet
  7  VXLAN-GPE header sent to port 4789 (what a plain VTEP drops; `decap` once wrote its NSH out as Ethernet)
  8  IPv4 with total length 0: a 70000-byte TCP GSO packet (BIG TCP), captured whole
  9  IPv6 jumbogram: payload length 0, hop-by-hop Jumbo Payload option, 70000 bytes of TCP
"""
import os, sys
from scapy.all import Ether, IP, IPv6, UDP, TCP, ICMP, Raw, wrpcap, IPv6ExtHdrHopByHop, Jumbo
from scapy.contrib.geneve import GENEVE, GeneveOptions

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)))
A, B = "02:00:00:00:0a:01", "02:00:00:00:0b:01"
inner = lambda seq: Ether(src="02:00:00:00:aa:01", dst="02:00:00:00:bb:01") / IP(src="10.244.0.5", dst="10.244.1.7", id=seq) / ICMP(id=0x4242, seq=seq) / Raw(b"x" * 32)
outer = lambda dport, sport=50000: Ether(src=A, dst=B) / IP(src="192.0.2.1", dst="192.0.2.2", id=7) / UDP(sport=sport, dport=dport)

frames = [
    outer(6081) / GENEVE(vni=42, proto=0x6558) / inner(1),
    outer(6081) / GENEVE(vni=42, proto=0x6558, critical=1, options=[
        GeneveOptions(classid=0x0102, type=0x80, length=1, data=b"\x00\x00\x00\x01"),
        GeneveOptions(classid=0x0103, type=0x01, length=2, data=b"\x00\x00\x00\x02\x00\x00\x00\x03")]) / inner(2),
    outer(6081) / GENEVE(vni=43, proto=0x0800) / IP(src="10.244.0.5", dst="10.244.1.7", id=3) / ICMP(id=0x4242, seq=3),
    Ether(src=A, dst=B, type=0x86dd) / IPv6(src="2001:db8:77::1", dst="2001:db8:77::2") / UDP(sport=50000, dport=6081)
        / GENEVE(vni=44, proto=0x6558, oam=1) / inner(4),
    outer(4790) / Raw(bytes([0x0c, 0, 0, 4, 0, 0, 42, 0]) + bytes([0x0f, 0xc2, 0x02, 0x01, 0, 0, 42, 0xff]))
        / IP(src="10.244.0.5", dst="10.244.1.7", id=5) / ICMP(id=0x4242, seq=5),
    outer(4790) / Raw(bytes([0x0c, 0, 0, 3, 0, 0, 42, 0])) / inner(6),
    outer(4789) / Raw(bytes([0x0c, 0, 0, 4, 0, 0, 42, 0]) + bytes([0x0f, 0xc2, 0x02, 0x01, 0, 0, 42, 0xff]))
        / IP(src="10.244.0.5", dst="10.244.1.7", id=7) / ICMP(id=0x4242, seq=7),
]
# total length 0, as Linux sends a BIG TCP packet; the TCP checksum is left to the NIC (0 here)
frames.append(Ether(src=A, dst=B) / IP(src="10.244.0.5", dst="10.244.0.7", id=8, flags="DF", len=0)
              / TCP(sport=40000, dport=8080, flags="A", seq=1, ack=1, chksum=0) / Raw(b"\0" * 70000))
jumbo = Ether(src=A, dst=B) / IPv6(src="fd00:244::5", dst="fd00:244::7", plen=0) / IPv6ExtHdrHopByHop(options=[Jumbo(jumboplen=8 + 20 + 70000)]) / TCP(sport=40000, dport=8081, flags="A", seq=1, ack=1, chksum=0) / Raw(b"\0" * 70000)
frames.append(jumbo)
for i, f in enumerate(frames):
    f.time = 1700000100 + i * 0.001
wrpcap(os.path.join(out, "tunnels.pcap"), frames, linktype=1, snaplen=262144)
