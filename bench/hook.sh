#!/usr/bin/env bash
# bench/hook.sh [BUILD_DIR] - the libgoroutine-hook benchmarks (docs/hooks.md):
#
#   redis-hook     100 goroutines x synchronous hiredis INCR at GOMAXPROCS=2,
#                  commands/s: with the hooks (bench_hook_redis), without
#                  them (bench_hook_redis_nohook), and redis-benchmark -c 100
#                  -t incr (Redis's own event-loop client), same server.
#   hook-overhead  a plain thread's write+read of one byte on a pipe, ns per
#                  pair, with libgoroutine-hook.so preloaded and without.
#
# A redis-server is started on a free loopback port and stopped. Each
# program runs HOOK_RUNS times (default 5), alternating; medians reported.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
build=$(cd "$build" && pwd)
runs=${HOOK_RUNS:-5}
b=$build/bench
for f in bench_hook_redis bench_hook_redis_nohook bench_hook_pipe; do
    [ -x "$b/$f" ] || { echo "hook.sh: $b/$f not built (libhiredis-dev missing?)" >&2; exit 2; }
done
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
    { echo "hook.sh: needs redis-server and redis-benchmark (redis-server, redis-tools)" >&2; exit 2; }
so=$build/libgoroutine-hook.so
dir=$(mktemp -d /tmp/hook-bench-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/log" 2>&1 &
rpid=$!
trap 'kill $rpid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" PING >/dev/null 2>&1; do sleep 0.1; done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
value() { sed -n 's/.*value=\([0-9.]*\).*/\1/p'; }
total=${HOOK_TOTAL:-200000}
: >"$dir/hook" ; : >"$dir/nohook" ; : >"$dir/rb" ; : >"$dir/pipe" ; : >"$dir/pipeh"
for i in $(seq "$runs"); do
    GOMAXPROCS=2 "$b/bench_hook_redis" "$port" 100 "$total" | value >>"$dir/hook" || exit 1
    GOMAXPROCS=2 "$b/bench_hook_redis_nohook" "$port" 100 $((total / 10)) | value >>"$dir/nohook" || exit 1
    redis-benchmark -p "$port" -c 100 -n "$total" -t incr -q 2>/dev/null |
        tr '\r' '\n' | sed -n 's/^INCR: \([0-9.]*\) requests per second.*/\1/p' | tail -1 >>"$dir/rb"
    "$b/bench_hook_pipe" | value >>"$dir/pipe" || exit 1
    LD_PRELOAD=$so "$b/bench_hook_pipe" | value >>"$dir/pipeh" || exit 1
done
h=$(median <"$dir/hook"); n=$(median <"$dir/nohook"); r=$(median <"$dir/rb")
p=$(median <"$dir/pipe"); ph=$(median <"$dir/pipeh")
printf '%-34s %12s\n' "workload (median of $runs)" "value"
printf '%-34s %12.0f cmd/s\n' "redis-hook: hiredis, with hooks" "$h"
printf '%-34s %12.0f cmd/s\n' "redis-hook: hiredis, no hooks" "$n"
printf '%-34s %12.0f cmd/s\n' "redis-benchmark -c 100 -t incr" "$r"
printf '%-34s %12.2f x\n' "with hooks / redis-benchmark" "$(echo "$h / $r" | bc -l)"
printf '%-34s %12.2f x\n' "with hooks / without" "$(echo "$h / $n" | bc -l)"
printf '%-34s %12.1f ns\n' "pipe write+read, plain" "$p"
printf '%-34s %12.1f ns\n' "pipe write+read, hook preloaded" "$ph"
printf '%-34s %12.3f x\n' "hook overhead" "$(echo "$ph / $p" | bc -l)"
