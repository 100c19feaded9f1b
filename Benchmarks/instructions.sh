#!/usr/bin/env bash
# Instructions per packet of each hot path, Swift and C, counted by valgrind's callgrind: unlike times,
# these repeat exactly from run to run and do not care what else the machine is doing.
#
#   Benchmarks/instructions.sh                        # encap64 decap64 encap64Checksum encap1400 decap1400
#   Benchmarks/instructions.sh encap64 decap64
#   SCRATCH_PATH=.build-perf Benchmarks/instructions.sh
#
# Swift: `overlay-sim bench --only NAME`, counting only inside the measured kernel (Kernels.encapsulate /
# Kernels.decapsulate). C: baseline.c's own run_encap / run_decap loops, driven by a small main that
# runs just one of them (written to a temporary folder; baseline.c is included, not changed).
# Needs valgrind, gcc, libpcap-dev.
set -euo pipefail

FRAMES=100000
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${SCRATCH_PATH:-.build}
case $scratch in /*) ;; *) scratch="$root/$scratch" ;; esac
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(encap64 decap64 encap64Checksum encap1400 decap1400)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && swift build -c release --scratch-path "$scratch" --product overlay-sim >&2)
cat >"$work/driver.c" <<'EOF'
/* Runs one of baseline.c's measured loops, once, over N frames. */
#define main baseline_main
#include "baseline.c"
#undef main

int main(int argc, char **argv)
{
    const char *name = argv[1];
    uint64_t frames = strtoull(argv[2], NULL, 10);
    struct bench_ctx c;
    vxlan_tunnel_init(&c.tun);
    c.small = pool_create(SMALL_FRAME);
    c.large = pool_create(LARGE_FRAME);
    c.pcap = pcap_open_dead(DLT_EN10MB, 65535);
    struct bench b = {name, ENCAP, strstr(name, "1400") != NULL, 0, 0};
    if (strcmp(name, "encap64Checksum") == 0)
        b.kind = ENCAP_CSUM;
    else if (strncmp(name, "decap", 5) == 0)
        b.kind = DECAP;
    if (b.kind == DECAP)
        pool_encapsulate(&c.tun, b.large ? c.large : c.small);
    sink += run_once(&c, &b, frames);
    return 0;
}
EOF
gcc -O2 -std=c11 -march=x86-64 -I"$root/Benchmarks/Baseline" $(pkg-config --cflags libpcap 2>/dev/null) \
    -o "$work/driver" "$work/driver.c" $(pkg-config --libs libpcap 2>/dev/null || echo -lpcap)

# valgrind 3.19 gives up on the DWARF that Swift 6.3 writes for the whole executable ("possibly corrupted
# debuginfo"); a copy without debug sections keeps the symbol table, which is all --toggle-collect needs.
cp "$scratch/release/overlay-sim" "$work/overlay-sim"
strip --strip-debug "$work/overlay-sim"

# Total instructions callgrind counted inside the toggled functions, divided by the frames.
per_packet() { # file frames
    callgrind_annotate "$1" 2>/dev/null | awk -v n="$2" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "%.0f", $1 / n }'
}

printf "%-18s %14s %14s %8s\n" "measurement" "Swift instr/pkt" "C instr/pkt" "Swift/C"
for name in "${names[@]}"; do
    case $name in
        encap*) swift_kernel='*Kernels*encapsulate*'; c_kernel=run_once* ;;
        decap*) swift_kernel='*Kernels*decapsulate*'; c_kernel=run_once* ;;
        *) echo "unknown measurement $name" >&2; exit 2 ;;
    esac
    # overlay-sim runs a warm-up pass and one timed pass: 2 x FRAMES through the kernel.
    valgrind --tool=callgrind --toggle-collect="$swift_kernel" --callgrind-out-file="$work/swift.out" \
        "$work/overlay-sim" bench --only "$name" --frames "$FRAMES" --passes 1 >/dev/null 2>&1
    valgrind --tool=callgrind --toggle-collect="$c_kernel" --callgrind-out-file="$work/c.out" \
        "$work/driver" "$name" "$FRAMES" >/dev/null 2>&1
    swift=$(per_packet "$work/swift.out" $((2 * FRAMES)))
    c=$(per_packet "$work/c.out" "$FRAMES")
    printf "%-18s %14s %14s %8s\n" "$name" "$swift" "$c" "$(awk -v s="$swift" -v c="$c" 'BEGIN { printf "%.2f", s / c }')"
done
