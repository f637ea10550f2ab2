#!/bin/sh
# hook_preload.sh HOOK_SO HTTP_HELLO SANITIZER - redis-cli and curl, run
# with libgoroutine-hook.so in LD_PRELOAD, behave exactly as without it:
# the same output, byte for byte, and the same exit status, for commands
# that succeed, wait (BLPOP with a timeout), fail to connect, and pipe.
# Plain-thread programs must not notice the hooks. A real redis-server and
# this project's http_hello are started on free loopback ports and stopped.
set -u
hook=$1 http=$2 san=${3:-}
if [ -n "$san" ]; then
    # The hook library is built with the sanitizer; an uninstrumented
    # program can load it only with the sanitizer's runtime preloaded first.
    echo "skipped: LD_PRELOAD of a $san-instrumented hook into uninstrumented redis-cli/curl"
    exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }
for b in redis-server redis-cli curl; do
    command -v $b >/dev/null 2>&1 ||
        fail "$b not found: install redis-server, redis-tools and curl (tools/deps.sh test)"
done
[ -e "$hook" ] || fail "no $hook"
dir=$(mktemp -d /tmp/hook-preload-XXXXXX)
cleanup() { kill $rpid $hpid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + $$ % 20000)); }
rport=$(freeport)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
rpid=$!
hport=$(freeport)
[ "$hport" = "$rport" ] && hport=$((rport + 1))
"$http" "127.0.0.1:$hport" >"$dir/http.log" 2>&1 &
hpid=$!
i=0
until redis-cli -p "$rport" PING >/dev/null 2>&1 && curl -s "http://127.0.0.1:$hport/" >/dev/null; do
    i=$((i + 1)); [ $i -gt 200 ] && fail "servers did not come up"; sleep 0.1
done
cport=$(freeport) # nobody listens there

# The hook really is loaded into a preloaded program.
LD_PRELOAD=$hook cat /proc/self/maps | grep -q libgoroutine-hook || fail "the hook did not load"

# run NAME CMD...: once plainly, once preloaded; compare outputs and status.
n=0
run() {
    name=$1; shift
    "$@" >"$dir/a.out" 2>"$dir/a.err"; a=$?
    LD_PRELOAD=$hook "$@" >"$dir/b.out" 2>"$dir/b.err"; b=$?
    [ $a = $b ] || fail "$name: exit status $a without the hook, $b with it"
    cmp -s "$dir/a.out" "$dir/b.out" || { diff "$dir/a.out" "$dir/b.out" | head; fail "$name: stdout differs"; }
    # curl reports how long a failed connect took: not ours to compare.
    sed -i 's/after [0-9]* ms/after N ms/' "$dir/a.err" "$dir/b.err"
    cmp -s "$dir/a.err" "$dir/b.err" || { diff "$dir/a.err" "$dir/b.err" | head; fail "$name: stderr differs"; }
    n=$((n + 1))
}
redis-cli -p "$rport" FLUSHALL >/dev/null
run "redis-cli ping" redis-cli -p "$rport" PING
run "redis-cli set/get" sh -c "redis-cli -p $rport SET k\$\$ 'some value' >/dev/null; redis-cli -p $rport GET k\$\$ | sed s/\$\$//"
run "redis-cli -r 200 incr" sh -c "redis-cli -p $rport DEL c\$PPID >/dev/null; redis-cli -p $rport -r 200 INCR c\$PPID"
run "redis-cli blpop timeout" redis-cli -p "$rport" BLPOP nothing 0.2
run "redis-cli pipe" sh -c "printf 'SET p%s v\r\n' 1 2 3 4 5 6 7 8 9 | redis-cli -p $rport --pipe | tail -1"
run "redis-cli refused" redis-cli -p "$cport" PING
run "redis-cli wrong type" sh -c "redis-cli -p $rport SET s x >/dev/null; redis-cli -p $rport LPUSH s y"
run "curl body" curl -s "http://127.0.0.1:$hport/a"
run "curl status" curl -s -o /dev/null -w '%{http_code} %{size_download} %{num_connects}\n' "http://127.0.0.1:$hport/" "http://127.0.0.1:$hport/b"
run "curl refused" curl -sS "http://127.0.0.1:$cport/"
run "curl file" curl -s "file://$dir/redis.log" -o "$dir/copy" -w '%{size_download}\n'
echo "ok: $n commands behave the same with the hook preloaded"
