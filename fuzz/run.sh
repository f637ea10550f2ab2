#!/usr/bin/env bash
# fuzz/run.sh BUILD_DIR SECONDS [TARGET...] - run each libFuzzer target
# (default: all of fuzz_chan fuzz_api fuzz_http) for SECONDS, starting from
# the committed seeds in fuzz/corpus/<target> plus what earlier runs in
# BUILD_DIR found (BUILD_DIR/fuzz-corpus/<target>; new inputs go there, the
# repository's seed corpus is not touched). Crashes, timeouts and leaks are
# written to BUILD_DIR/fuzz-artifacts/ and make the script fail, printing
# the command that replays them.
#
# Runs are made repeatable as far as threads allow: a fixed libFuzzer seed
# (FUZZ_SEED, default 1), GOMAXPROCS=2 unless set, and signal preemption
# off (sanitizer builds have it off anyway).
set -uo pipefail
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
secs=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_chan fuzz_api fuzz_http)
export GOMAXPROCS=${GOMAXPROCS:-2}
export GOROUTINE_PREEMPT=off
# Huge valid sizes (go_chan_make of 2^40 bytes) must come back as ENOMEM,
# not abort; UBSan reports carry a stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
mkdir -p "$build/fuzz-artifacts"
status=0
for t in "${targets[@]}"; do
    exe=$build/fuzz/$t
    name=${t#fuzz_}
    work=$build/fuzz-corpus/$name
    mkdir -p "$work"
    log=$build/fuzz-artifacts/$t.log
    "$exe" -max_total_time="$secs" -seed="${FUZZ_SEED:-1}" -timeout=30 \
        -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$t-" \
        "$work" "$here/corpus/$name" >"$log" 2>&1
    st=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ $st -eq 0 ]; then
        echo "fuzz: $t: ${execs:-?} executions in ${secs} s, $cov, corpus $(ls "$work" | wc -l) inputs: ok"
    else
        status=1
        echo "fuzz: $t FAILED (exit $st) after ${execs:-?} executions; log: $log"
        grep -E 'check failed|ERROR|runtime error|SUMMARY' "$log" | head -5
        art=$(sed -n "s/.*Test unit written to //p" "$log" | tail -1)
        [ -n "$art" ] && echo "  replay: GOMAXPROCS=$GOMAXPROCS $exe $art"
    fi
done
exit $status
