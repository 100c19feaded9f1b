#!/usr/bin/env bash
# Builds the libFuzzer driver and runs each fuzz target for SECONDS, one after another.
#
#   Fuzz/fuzz.sh SECONDS [TARGET...]     (default: every target `overlay-sim-fuzz list` names)
#
# The build goes to .build-fuzz (its own folder: the sanitizer flags differ from a normal build's, and
# SwiftPM does not rebuild when only flags change). What it took to make Swift fuzzing work here:
#   -Xswiftc -sanitize=fuzzer,address   ONE flag: two -sanitize flags keep only the last and lose coverage
#   -Xcc -fsanitize=fuzzer-no-link,address   so Yams' and libpcap shims' C code is instrumented too
#   Fuzz/Driver/main.swift calls LLVMFuzzerRunDriver itself (SwiftPM links executables with their
#   own entry point, so libFuzzer's main is never used)
#   SWIFT_BACKTRACE=enable=no           so a Swift trap reaches libFuzzer as the crash it is
# Each target's corpus lives in .build-fuzz/corpus/TARGET, seeded from Tests/TestFixtures and
# Scenarios/; Fuzz/Regressions/TARGET is read as a second corpus. A crash, a timeout or running out of
# memory is copied into Fuzz/Regressions/TARGET (and printed in base64 for CI logs), the other targets
# still run, and the script exits 1: `swift test` replays that folder (FuzzRegressionTests).
# FUZZ_NICE (default 19) is the nice level the fuzzer runs at: the machine is shared.
# FUZZ_PARALLEL=1 runs the targets at the same time (after the one build; two fuzz.sh runs at once
# would rebuild .build-fuzz under each other), each with its own corpus, artifacts and log.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: Fuzz/fuzz.sh SECONDS [TARGET...]}
shift
nice_level=${FUZZ_NICE:-19}

OVERLAY_SIM_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product overlay-sim-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
binary=.build-fuzz/release/overlay-sim-fuzz
export SWIFT_BACKTRACE=enable=no
# Leak checking is off: the Swift runtime's caches read as leaks at exit; memory is bounded by
# -rss_limit_mb instead.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then mapfile -t targets < <("$binary" list); fi

fuzz_one() {
    local target=$1 corpus artifacts regressions status kept size
    local -a dictionary
    corpus=.build-fuzz/corpus/$target
    artifacts=.build-fuzz/artifacts/$target
    regressions=Fuzz/Regressions/$target
    mkdir -p "$corpus" "$artifacts" "$regressions"
    rm -f "$artifacts"/*
    "$binary" seeds "$target" "$corpus" >/dev/null
    dictionary=()
    case $target in
        scenario-parser|firewall-parser) dictionary=(-dict=Fuzz/scenario.dict) ;;
        manifest-reader) dictionary=(-dict=Fuzz/manifests.dict) ;;
        frame-decoder|decapsulation) dictionary=(-dict=Fuzz/frames.dict) ;;
    esac
    echo "fuzz $target for ${seconds}s"
    status=0
    nice -n "$nice_level" "$binary" "$target" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=3072 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "${dictionary[@]}" "$corpus" "$regressions" \
        > ".build-fuzz/$target.log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done )' ".build-fuzz/$target.log" | sed "s/^/  $target: /" || true
    kept=0
    for artifact in "$artifacts"/*; do
        [ -f "$artifact" ] || continue
        cp "$artifact" "$regressions/"
        kept=$((kept + 1))
        size=$(stat -c %s "$artifact")
        if [ "$size" -le 16384 ]; then
            echo "  $target: kept $(basename "$artifact") in $regressions ($size bytes, base64 follows)"
            base64 -w0 "$artifact"; echo
        else
            echo "  $target: kept $(basename "$artifact") in $regressions ($size bytes)"
        fi
    done
    if [ "$status" -ne 0 ] || [ "$kept" -gt 0 ]; then
        touch ".build-fuzz/$target.failed"
        grep -E 'ERROR|fuzz check failed|Fatal error|SUMMARY|deadly signal' ".build-fuzz/$target.log" | head -20 | sed "s/^/  $target: /" || true
    fi
}

rm -f .build-fuzz/*.failed
if [ "${FUZZ_PARALLEL:-0}" = 1 ]; then
    for target in "${targets[@]}"; do fuzz_one "$target" & done
    wait
else
    for target in "${targets[@]}"; do fuzz_one "$target"; done
fi
failed=()
for target in "${targets[@]}"; do
    if [ -e ".build-fuzz/$target.failed" ]; then failed+=("$target"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]} (inputs kept in Fuzz/Regressions/; logs in .build-fuzz/*.log)"
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, no crash"
