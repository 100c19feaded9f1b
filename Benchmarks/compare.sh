#!/usr/bin/env bash
# Builds the C baseline and overlay-sim (release), runs both ROUNDS times back to back, interleaved
# (Swift, C, Swift, C, ...), keeps each measurement's best, and prints Swift against C.
#
#   Benchmarks/compare.sh                 # 3 rounds of 4,000,000 frames, best of 5 passes each
#   ROUNDS=5 FRAMES=2000000 Benchmarks/compare.sh
#   SCRATCH_PATH=.build-perf Benchmarks/compare.sh   # reuse another swift build folder
#
# Needs: swift, gcc, make, pkg-config and libpcap-dev (`make deps` installs the last two).
# Numbers are single-core and in-process; on a shared or virtual machine they move by 10-50 % from run
# to run, which is why the best of several interleaved rounds is kept.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
FRAMES=${FRAMES:-4000000}
PASSES=${PASSES:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${SCRATCH_PATH:-.build}
case $scratch in /*) ;; *) scratch="$root/$scratch" ;; esac

echo "building the C baseline and overlay-sim (release)..." >&2
make -s -C "$root/Benchmarks/Baseline" >&2
(cd "$root" && swift build -c release --scratch-path "$scratch" --product overlay-sim >&2)
swift_bin="$scratch/release/overlay-sim"
c_bin="$root/Benchmarks/Baseline/bin/baseline"

# One JSON object per line, each tagged with its side: "swift {...}" / "c {...}".
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round of $ROUNDS: swift" >&2
    echo "swift $("$swift_bin" bench --json --frames "$FRAMES" --passes "$PASSES")" >>"$results"
    echo "round $round of $ROUNDS: C" >&2
    echo "c $("$c_bin" --json --frames "$FRAMES" --repeat "$PASSES" 2>/dev/null)" >>"$results"
done

model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
echo "machine: ${model:-unknown CPU}, $(nproc) cores, Linux $(uname -r)"
echo "method:  $ROUNDS interleaved rounds x (warm-up + best of $PASSES passes of $FRAMES frames), best round kept"
echo

# Pulls "key":{"packetsPerSecond":N,...} pairs out of the tagged lines, keeps the best per side and key,
# and prints the table. Plain awk: the JSON is flat and machine-written by both programs.
awk '
    {
        side = $1
        line = substr($0, length(side) + 2)
        while (match(line, /"[A-Za-z0-9]+":\{"packetsPerSecond":[0-9.]+/)) {
            item = substr(line, RSTART + 1, RLENGTH - 1)
            line = substr(line, RSTART + RLENGTH)
            key = item; sub(/".*/, "", key)
            value = item; sub(/.*:/, "", value)
            if (value + 0 > best[side, key] + 0) best[side, key] = value
        }
    }
    function row(label, swiftKey, cKey, target,    s, c, ratio, verdict) {
        s = best["swift", swiftKey] / 1e6; c = best["c", cKey] / 1e6
        ratio = c > 0 ? s / c : 0
        verdict = target == "" ? "" : (ratio >= target ? "meets >= " target : "MISSES >= " target)
        printf "%-34s %10.2f %10.2f %8.2f  %s\n", label, s, c, ratio, verdict
    }
    END {
        printf "%-34s %10s %10s %8s  %s\n", "measurement", "Swift Mpps", "C Mpps", "ratio", "target"
        row("encap64", "encap64", "encap64", "0.8")
        row("encap1400", "encap1400", "encap1400", "")
        row("encap64Checksum", "encap64Checksum", "encap64Checksum", "")
        row("decap64", "decap64", "decap64", "0.8")
        row("decap1400", "decap1400", "decap1400", "")
        row("pcapWrite64 vs stock pcap_dump_open", "pcapWrite64", "pcapWrite64Stock", "1.5")
        row("pcapWrite64 vs 1 MiB-buffer C loop", "pcapWrite64", "pcapWrite64BigBuffer", "")
    }
' "$results"
