#!/usr/bin/env bash
# Records the real captures overlay-sim's decoder is tested on (kernel/captures/), from this machine's
# kernel in network namespaces: what `tcpdump -i any` writes (Linux cooked v2 with libpcap 1.10, v1 with
# -y LINUX_SLL), VXLAN cut by a
# 128-byte snapshot length (IPv4 and IPv6 underlays), VXLAN-GPE from a `gpe external` device, a capture
# taken on the sending node before checksum offload, and TSO packets of up to 64 KiB captured before
# segmentation (BIG TCP's length-0 packets are made with scapy, see the bigtcp case). Beside each NAME.pcap, NAME.txt holds the devices' `ip -d link show`
# lines and the tcpdump command. Everything stays inside namespaces named kc*, removed on exit.
# Geneve is not recorded: this kernel is built without CONFIG_GENEVE (`ip link add ... type geneve` says
# "Unknown device type"); the Geneve fixtures are made with scapy (odd/make_tunnels.py).
# Usage: kernel_captures.sh OUTDIR [capture...]   (root; needs iproute2, tcpdump, socat, ethtool, ping)
set -euo pipefail
out=${1:?outdir}; shift || true
mkdir -p "$out"
captures=${*:-"sll sll2 any snap128-v4 snap128-v6 gpe offload bigtcp"}
spaces="kcA kcB kcPa kcPb"

cleanup() { for n in $spaces; do ip netns del $n 2>/dev/null || true; done; }
trap cleanup EXIT

# nodes kcA and kcB on an underlay veth; a pod on each, routed through a vxlan device (Flannel's layout)
nodes() { # family(4|6) vxlan-options checksum-offload(on|off)
  local fam=$1 opts=$2 offload=$3
  cleanup
  for n in $spaces; do ip netns add $n; ip -n $n link set lo up; done
  ip link add ulA type veth peer name ulB
  ip link set ulA netns kcA; ip link set ulB netns kcB
  ip -n kcA link set ulA address 02:00:00:00:0a:01; ip -n kcB link set ulB address 02:00:00:00:0b:01
  if [ "$fam" = 6 ]; then la=2001:db8:77::1; lb=2001:db8:77::2
    ip -n kcA addr add $la/64 dev ulA nodad; ip -n kcB addr add $lb/64 dev ulB nodad
  else la=192.0.2.1; lb=192.0.2.2
    ip -n kcA addr add $la/24 dev ulA; ip -n kcB addr add $lb/24 dev ulB
  fi
  for n in kcA:ulA kcB:ulB; do
    ip -n ${n%%:*} link set ${n#*:} up
    ip netns exec ${n%%:*} ethtool -K ${n#*:} tx $offload rx $offload >/dev/null 2>&1 || true
    ip netns exec ${n%%:*} sysctl -qw net.ipv4.ip_forward=1
  done
  ip -n kcA link add vx0 address 02:00:00:00:aa:01 type vxlan $opts local $la dev ulA nolearning
  ip -n kcB link add vx0 address 02:00:00:00:bb:01 type vxlan $opts local $lb dev ulB nolearning
  ip -n kcA addr add 10.244.0.0/32 dev vx0; ip -n kcB addr add 10.244.1.0/32 dev vx0
  ip -n kcA link set vx0 up; ip -n kcB link set vx0 up
  ip -n kcA route add 10.244.1.0/24 via 10.244.1.0 dev vx0 onlink
  ip -n kcB route add 10.244.0.0/24 via 10.244.0.0 dev vx0 onlink
  ip -n kcA neigh add 10.244.1.0 lladdr 02:00:00:00:bb:01 dev vx0 nud permanent
  ip -n kcB neigh add 10.244.0.0 lladdr 02:00:00:00:aa:01 dev vx0 nud permanent
  bridge -n kcA fdb append 02:00:00:00:bb:01 dev vx0 dst $lb
  bridge -n kcB fdb append 02:00:00:00:aa:01 dev vx0 dst $la
  pods
}

# one pod per node on a veth, /32 routes
pods() {
  ip link add pa0 type veth peer name vpa; ip link set pa0 netns kcPa; ip link set vpa netns kcA
  ip link add pb0 type veth peer name vpb; ip link set pb0 netns kcPb; ip link set vpb netns kcB
  ip -n kcPa link set pa0 address 02:00:00:00:c0:01; ip -n kcA link set vpa address 02:00:00:00:c0:ff
  ip -n kcPb link set pb0 address 02:00:00:00:c1:01; ip -n kcB link set vpb address 02:00:00:00:c1:ff
  ip -n kcPa addr add 10.244.0.5/24 dev pa0; ip -n kcPb addr add 10.244.1.7/24 dev pb0
  for n in kcPa:pa0 kcPb:pb0 kcA:vpa kcB:vpb; do ip -n ${n%%:*} link set ${n#*:} up; done
  ip -n kcA addr add 10.244.0.1/32 dev vpa; ip -n kcB addr add 10.244.1.1/32 dev vpb
  ip -n kcA route add 10.244.0.5/32 dev vpa; ip -n kcB route add 10.244.1.7/32 dev vpb
  ip -n kcPa route replace default via 10.244.0.1 dev pa0 onlink
  ip -n kcPb route replace default via 10.244.1.1 dev pb0 onlink
  for n in kcA kcB; do ip netns exec $n sysctl -qw net.ipv4.conf.all.proxy_arp=1; done
}

# capture NAME NAMESPACE TCPDUMP-ARGS...: starts tcpdump; `traffic` then `finish NAME` stop it
capture() {
  local name=$1 ns=$2; shift 2
  echo "tcpdump $*" > "$out/$name.txt"
  ip netns exec $ns tcpdump -U -w "$out/$name.pcap" "$@" >/dev/null 2>&1 &
  tcpdump_pid=$!; sleep 1
}
finish() {
  sleep 1; kill $tcpdump_pid 2>/dev/null || true; wait $tcpdump_pid 2>/dev/null || true
  for n in kcA kcB; do ip -d -n $n link show 2>/dev/null | sed -n "s/^ *\(vxlan .*\)/$n: \1/p" >> "$out/$1.txt"; done
  echo "$1: $(tcpdump -r "$out/$1.pcap" 2>/dev/null | wc -l) frames"
}

# two pings, a small TCP exchange and a UDP datagram between the pods
traffic() {
  local size=${1:-40}
  ip netns exec kcPb socat -u TCP-LISTEN:8080,reuseaddr - >/dev/null &
  ip netns exec kcPb socat -u UDP-RECV:5353 - >/dev/null &
  sleep 0.3
  ip netns exec kcPa ping -q -c 2 -i 0.2 -W 1 10.244.1.7 >/dev/null || true
  head -c $size /dev/zero | tr '\0' 'x' | ip netns exec kcPa socat -u - TCP:10.244.1.7:8080 || true
  echo "dns-ish datagram" | ip netns exec kcPa socat -u - UDP-SENDTO:10.244.1.7:5353 || true
  sleep 0.5
  ip netns pids kcPb | xargs -r kill 2>/dev/null || true
}

for c in $captures; do
  case $c in
    sll)        nodes 4 "id 1 dstport 8472" off; capture $c kcA -y LINUX_SLL -i any -s 0; traffic; finish $c ;;
    any)        nodes 4 "id 1 dstport 8472" off; capture $c kcA -i any -s 0; traffic; finish $c ;;
    sll2)       nodes 4 "id 1 dstport 8472" off; capture $c kcA -y LINUX_SLL2 -i any -s 0; traffic; finish $c ;;
    snap128-v4) nodes 4 "id 42 dstport 4789" off; capture $c kcB -i ulB -s 128; traffic 6000; finish $c ;;
    snap128-v6) nodes 6 "id 7 dstport 4789" off; capture $c kcB -i ulB -s 128; traffic 6000; finish $c ;;
    offload)    nodes 4 "id 42 dstport 4789" on; capture $c kcA -i ulA -s 0; traffic; finish $c ;;
    gpe)
      # VXLAN-GPE needs `external` (collect metadata); routes carry the tunnel key (lwtunnel `encap ip`).
      cleanup
      for n in $spaces; do ip netns add $n; ip -n $n link set lo up; done
      ip link add ulA type veth peer name ulB; ip link set ulA netns kcA; ip link set ulB netns kcB
      ip -n kcA link set ulA address 02:00:00:00:0a:01; ip -n kcB link set ulB address 02:00:00:00:0b:01
      ip -n kcA addr add 192.0.2.1/24 dev ulA; ip -n kcB addr add 192.0.2.2/24 dev ulB
      for n in kcA:ulA kcB:ulB; do ip -n ${n%%:*} link set ${n#*:} up; ip netns exec ${n%%:*} ethtool -K ${n#*:} tx off rx off >/dev/null 2>&1 || true; done
      for n in kcA kcB; do ip -n $n link add vxgpe type vxlan gpe external dstport 4790; ip -n $n link set vxgpe up
        ip netns exec $n sysctl -qw net.ipv6.conf.vxgpe.disable_ipv6=0 2>/dev/null || true; done
      ip -n kcA addr add 10.244.0.1/32 dev vxgpe; ip -n kcB addr add 10.244.1.1/32 dev vxgpe
      ip -n kcA addr add fd00:244::1/128 dev vxgpe nodad; ip -n kcB addr add fd00:244:1::1/128 dev vxgpe nodad
      ip -n kcA route add 10.244.1.0/24 encap ip id 42 dst 192.0.2.2 dev vxgpe
      ip -n kcB route add 10.244.0.0/24 encap ip id 42 dst 192.0.2.1 dev vxgpe
      ip -n kcA -6 route add fd00:244:1::/64 encap ip id 42 dst 192.0.2.2 dev vxgpe
      ip -n kcB -6 route add fd00:244::/64 encap ip id 42 dst 192.0.2.1 dev vxgpe
      capture $c kcB -i ulB -s 0
      ip netns exec kcA ping -q -c 2 -i 0.2 -W 1 -I 10.244.0.1 10.244.1.1 >/dev/null || true
      ip netns exec kcA ping -6 -q -c 2 -i 0.2 -W 1 -I fd00:244::1 fd00:244:1::1 >/dev/null || true
      finish $c ;;
    bigtcp)
      # BIG TCP: a veth whose GSO limit is above 64 KiB lets TCP build 128 KiB packets; tcpdump on the
      # sender sees them before segmentation, up to 64 KiB here: IPv4 over 64 KiB (total length 0) needs
      # gso_ipv4_max_size, which this iproute2 (Debian 12) cannot set; the IPv6 transfer over a 128 KiB GSO
      # limit stalled here, so BIG TCP's length-0 frames are made with scapy (odd/make_tunnels.py).
      cleanup
      for n in kcPa kcPb; do ip netns add $n; ip -n $n link set lo up; done
      ip link add pa0 type veth peer name pb0; ip link set pa0 netns kcPa; ip link set pb0 netns kcPb
      ip -n kcPa link set pa0 address 02:00:00:00:c0:01; ip -n kcPb link set pb0 address 02:00:00:00:c1:01
      for n in kcPa:pa0 kcPb:pb0; do
        ip -n ${n%%:*} link set ${n#*:} gso_max_size 131072 gro_max_size 131072
        ip -n ${n%%:*} link set ${n#*:} up
      done
      ip -n kcPa addr add 10.244.0.5/24 dev pa0; ip -n kcPb addr add 10.244.0.7/24 dev pb0
      ip -n kcPa addr add fd00:244::5/64 dev pa0 nodad; ip -n kcPb addr add fd00:244::7/64 dev pb0 nodad
      ip netns exec kcPb socat -u TCP-LISTEN:8080,reuseaddr - >/dev/null &
      sleep 0.3
      # only the large packets, their first 128 bytes: the headers are what is decoded
      capture $c kcPa -i pa0 -s 128 -c 8 "tcp and greater 20000"
      head -c 8000000 /dev/zero | ip netns exec kcPa timeout 20 socat -u -b 1048576 - TCP:10.244.0.7:8080 || true
      finish $c
      ip netns pids kcPb | xargs -r kill 2>/dev/null || true
      ip -d -n kcPa link show pa0 | grep -o "gso_max_size [0-9]*.*" >> "$out/$c.txt" || true ;;
    *) echo "unknown capture $c" >&2; exit 2 ;;
  esac
done
