#!/usr/bin/env bash
# bench/callgrind.sh [BUILD_DIR] - instructions per operation, C and Go.
#
# Runs small variants of some workloads under `valgrind --tool=callgrind`
# at GOMAXPROCS=1 (valgrind serialises threads anyway; one P makes the
# counts repeatable), once with N operations and once with 2N, and prints
#
#     (Ir(2N) - Ir(N)) / N
#
# which cancels the start-up and tear-down cost: what remains is the cost
# of one operation (a spawn + its goroutine's whole life, one yield, one
# channel round trip, ...). The Go twins are measured the same way for
# reference (built here, as run.sh does). Asynchronous preemption is off on
# both sides (GODEBUG=asyncpreemptoff=1, GOROUTINE_PREEMPT=off): Go's
# signals trip callgrind up, and under valgrind's ~50x slowdown the 10 ms
# preemption tick would land on every few hundred operations instead of
# every few hundred thousand, which distorts lock workloads (a goroutine
# preempted while holding the mutex sends the others down the slow path).
# Workloads whose C
# binary is not built are skipped.
#
#   CALLGRIND_ONLY=spawn,yield   a subset
#   CALLGRIND_KEEP=1             keep the callgrind.out files (in
#                                bench/out/callgrind/) for callgrind_annotate
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_arg=${1:-build}
case $build_arg in /*) ;; *) build_arg=$PWD/$build_arg ;; esac
build=$(cd "$build_arg" && pwd) || exit 2
cbin=$build/bench
gobin=$build/bench/go
outdir=$here/out/callgrind
mkdir -p "$outdir"

command -v valgrind >/dev/null 2>&1 || { echo "callgrind.sh: valgrind not found (apt-get install valgrind)" >&2; exit 2; }

if command -v go >/dev/null 2>&1; then
    export GOCACHE=$build/bench/gocache GOPATH=$build/bench/gopath GO111MODULE=on \
        GOFLAGS='' GOPROXY=off GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
    mkdir -p "$gobin"
    (cd "$here/go" && go build -o "$gobin/" ./...) || echo "callgrind.sh: go build failed; C only" >&2
fi

# name  program  N  ops-per-N  what one op is  extra args
cases=(
    "spawn     spawn     100000  1   spawn+exit"
    "yield     yield     100000  10  yield        10"
    "pingpong  pingpong  100000  1   round-trip"
    "mpmc      mpmc      100000  4   message"
    "select    select    100000  4   message"
    "mutex     mutex     100000  8   lock+unlock  8"
)

ir() { # binary args... -> total Ir on stdout
    local f
    f=$(mktemp "$outdir/cg.XXXXXX")
    GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 GOROUTINE_PREEMPT=off valgrind --tool=callgrind --callgrind-out-file="$f" "$@" >/dev/null 2>"$f.log" ||
        { echo "callgrind.sh: $* failed under valgrind (log: $f.log)" >&2; echo ""; return; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$f.log" | tail -n 1
    if [ -n "${CALLGRIND_KEEP:-}" ]; then
        mv "$f" "$outdir/callgrind.out.$(basename "$1").$2"
    else
        rm -f "$f"
    fi
    rm -f "$f.log"
}

per_op() { # ir1 ir2 n ops
    [ -n "$1" ] && [ -n "$2" ] || { echo "-"; return; }
    awk -v a="$1" -v b="$2" -v n="$3" -v k="$4" 'BEGIN { printf "%.0f", (b - a) / (n * k) }'
}

printf '%-9s %-12s %10s %10s %8s\n' workload "per" "C Ir/op" "Go Ir/op" "C/Go"
for c in "${cases[@]}"; do
    read -r name prog n k what extra <<<"$c"
    if [ -n "${CALLGRIND_ONLY:-}" ] && [[ ",$CALLGRIND_ONLY," != *",$name,"* ]]; then continue; fi
    if [ ! -x "$cbin/bench_$prog" ]; then
        printf '%-9s %-12s %10s\n' "$name" "$what" "not built"
        continue
    fi
    c1=$(ir "$cbin/bench_$prog" "$n" $extra)
    c2=$(ir "$cbin/bench_$prog" $((2 * n)) $extra)
    cop=$(per_op "$c1" "$c2" "$n" "$k")
    gop=-
    if [ -x "$gobin/$prog" ]; then
        g1=$(ir "$gobin/$prog" "$n" $extra)
        g2=$(ir "$gobin/$prog" $((2 * n)) $extra)
        gop=$(per_op "$g1" "$g2" "$n" "$k")
    fi
    ratio=$(awk -v a="$cop" -v b="$gop" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }')
    printf '%-9s %-12s %10s %10s %8s\n' "$name" "$what" "$cop" "$gop" "$ratio"
done
