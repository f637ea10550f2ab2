#!/usr/bin/env bash
# bench/hook.sh [BUILD_DIR] - the libgoroutine-hook benchmarks (docs/hooks.md):
#
#   redis-hook     100 goroutines x synchronous hiredis INCR at GOMAXPROCS=2,
#                  commands/s: with the hooks (bench_hook_redis), without
#                  them (bench_hook_redis_nohook), and redis-benchmark -c 100
#                  -t incr (Redis's own event-loop client), same server.
#   pg-hook        50 goroutines x synchronous libpq "SELECT 1" at
#                  GOMAXPROCS=2, queries/s: with the hooks (bench_hook_pg),
#                  without them (bench_hook_pg_nohook), and pgbench running
#                  the same query from 50 connections (-c 50 -j 2).
#   hook-overhead  a plain thread's write+read of one byte on a pipe, ns per
#                  pair, with libgoroutine-hook.so preloaded and without.
#
# A redis-server and a PostgreSQL server (a fresh initdb, fsync off) are
# started on free loopback ports and stopped. Each program runs HOOK_RUNS
# times (default 5), alternating; medians reported.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
build=$(cd "$build" && pwd)
runs=${HOOK_RUNS:-5}
b=$build/bench
for f in bench_hook_redis bench_hook_redis_nohook bench_hook_pg bench_hook_pg_nohook bench_hook_pipe; do
    [ -x "$b/$f" ] || { echo "hook.sh: $b/$f not built (libhiredis-dev or libpq-dev missing?)" >&2; exit 2; }
done
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
    { echo "hook.sh: needs redis-server and redis-benchmark (redis-server, redis-tools)" >&2; exit 2; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] && command -v pgbench >/dev/null ||
    { echo "hook.sh: needs PostgreSQL and pgbench (postgresql)" >&2; exit 2; }
so=$build/libgoroutine-hook.so
dir=$(mktemp -d /tmp/hook-bench-XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/log" 2>&1 &
rpid=$!
pgdata=$dir/pg
stop_pg() { [ -f "$pgdata/postmaster.pid" ] && kill -INT "$(head -1 "$pgdata/postmaster.pid")" 2>/dev/null; }
trap 'kill $rpid 2>/dev/null; stop_pg; wait 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" PING >/dev/null 2>&1; do sleep 0.1; done

# PostgreSQL refuses to run as root: then it runs as the postgres user.
as=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir" && as=(runuser -u postgres --) ||
        { echo "hook.sh: running as root and there is no postgres user" >&2; exit 2; }
fi
pgport=$(free_port)
"${as[@]}" "$pgbin/initdb" -D "$pgdata" -U bench --auth=trust >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; echo "hook.sh: initdb failed" >&2; exit 1; }
"${as[@]}" "$pgbin/postgres" -D "$pgdata" -k "$dir" -h 127.0.0.1 -p "$pgport" \
    -c fsync=off -c max_connections=200 >"$dir/pg.log" 2>&1 &
for _ in $(seq 100); do
    "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport" && break
    sleep 0.1
done
"$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport" ||
    { cat "$dir/pg.log" >&2; echo "hook.sh: postgres did not start" >&2; exit 1; }
conninfo="host=127.0.0.1 port=$pgport user=bench dbname=postgres"
echo "SELECT 1;" >"$dir/select1.sql"
chmod a+r "$dir/select1.sql"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
value() { sed -n 's/.*value=\([0-9.]*\).*/\1/p'; }
total=${HOOK_TOTAL:-200000}
: >"$dir/hook" ; : >"$dir/nohook" ; : >"$dir/rb" ; : >"$dir/pipe" ; : >"$dir/pipeh"
: >"$dir/pgh" ; : >"$dir/pgn" ; : >"$dir/pgb"
pgtotal=${HOOK_PG_TOTAL:-100000}
for i in $(seq "$runs"); do
    GOMAXPROCS=2 "$b/bench_hook_redis" "$port" 100 "$total" | value >>"$dir/hook" || exit 1
    GOMAXPROCS=2 "$b/bench_hook_redis_nohook" "$port" 100 $((total / 10)) | value >>"$dir/nohook" || exit 1
    redis-benchmark -p "$port" -c 100 -n "$total" -t incr -q 2>/dev/null |
        tr '\r' '\n' | sed -n 's/^INCR: \([0-9.]*\) requests per second.*/\1/p' | tail -1 >>"$dir/rb"
    GOMAXPROCS=2 "$b/bench_hook_pg" "$conninfo" 50 "$pgtotal" | value >>"$dir/pgh" || exit 1
    GOMAXPROCS=2 "$b/bench_hook_pg_nohook" "$conninfo" 50 $((pgtotal / 10)) | value >>"$dir/pgn" || exit 1
    pgbench -n -h 127.0.0.1 -p "$pgport" -U bench -c 50 -j 2 -T 5 -f "$dir/select1.sql" postgres 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -1 >>"$dir/pgb"
    "$b/bench_hook_pipe" | value >>"$dir/pipe" || exit 1
    LD_PRELOAD=$so "$b/bench_hook_pipe" | value >>"$dir/pipeh" || exit 1
done
h=$(median <"$dir/hook"); n=$(median <"$dir/nohook"); r=$(median <"$dir/rb")
p=$(median <"$dir/pipe"); ph=$(median <"$dir/pipeh")
pgh=$(median <"$dir/pgh"); pgn=$(median <"$dir/pgn"); pgb=$(median <"$dir/pgb")
printf '%-34s %12s\n' "workload (median of $runs)" "value"
printf '%-34s %12.0f cmd/s\n' "redis-hook: hiredis, with hooks" "$h"
printf '%-34s %12.0f cmd/s\n' "redis-hook: hiredis, no hooks" "$n"
printf '%-34s %12.0f cmd/s\n' "redis-benchmark -c 100 -t incr" "$r"
printf '%-34s %12.2f x\n' "with hooks / redis-benchmark" "$(echo "$h / $r" | bc -l)"
printf '%-34s %12.2f x\n' "with hooks / without" "$(echo "$h / $n" | bc -l)"
printf '%-34s %12.0f q/s\n' "pg-hook: libpq, with hooks" "$pgh"
printf '%-34s %12.0f q/s\n' "pg-hook: libpq, no hooks" "$pgn"
printf '%-34s %12.0f q/s\n' "pgbench -c 50 -j 2, SELECT 1" "$pgb"
printf '%-34s %12.2f x\n' "with hooks / pgbench" "$(echo "$pgh / $pgb" | bc -l)"
printf '%-34s %12.2f x\n' "with hooks / without" "$(echo "$pgh / $pgn" | bc -l)"
printf '%-34s %12.1f ns\n' "pipe write+read, plain" "$p"
printf '%-34s %12.1f ns\n' "pipe write+read, hook preloaded" "$ph"
printf '%-34s %12.3f x\n' "hook overhead" "$(echo "$ph / $p" | bc -l)"
