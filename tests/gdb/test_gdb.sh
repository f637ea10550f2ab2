#!/bin/sh
# test_gdb.sh SCRIPT TARGET - the gdb extension (tools/gdb/goroutine-gdb.py)
# on a live process and on a gcore core file of TARGET (gdb_target.c,
# linked with the static or the shared library).
#
# TARGET parks six goroutines, one per state, each in its own function,
# and prints their functions. For the live process and then for the core,
# `info goroutines` must list each one with its wait reason, the function
# it is blocked in and its creator (gdb_spawner, in the spawner's
# goroutine), and `goroutine N bt` must show that function in N's
# backtrace, unwound from its saved registers. gdb runs in batch mode with
# no init files; nothing is called in the inferior (a core could not run
# it anyway). Exit 77 (skipped) without gdb/gcore or ptrace rights.
set -u
script=${1:?usage: test_gdb.sh SCRIPT TARGET}
target=${2:?usage: test_gdb.sh SCRIPT TARGET}
command -v gdb >/dev/null 2>&1 && command -v gcore >/dev/null 2>&1 ||
    { echo "skipped: no gdb/gcore"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/go-gdb-test.XXXXXX") || exit 1
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# gcore cannot read around MADV_GUARD_INSTALL guard regions (it loses
# whole 1 MiB chunks of the stack arena): PROT_NONE guards instead.
GOROUTINE_STACK_GUARD=mprotect GOMAXPROCS=${GOMAXPROCS:-2} "$target" >"$tmp/out" 2>&1 &
pid=$!
while ! grep -q READY "$tmp/out"; do
    kill -0 "$pid" 2>/dev/null || { echo "target died:"; cat "$tmp/out"; exit 1; }
    sleep 0.05
done
spawner=$(sed -n 's/^SPAWNER //p' "$tmp/out")
fns=$(sed -n 's/^F //p' "$tmp/out")

state_of() {
    case $1 in
    gdb_in_recv) echo "chan receive" ;;
    gdb_in_send) echo "chan send" ;;
    gdb_in_select) echo "select" ;;
    gdb_in_sleep) echo "sleep" ;;
    gdb_in_mutex) echo "sync.Mutex.Lock" ;;
    gdb_in_wg) echo "sync.WaitGroup.Wait" ;;
    esac
}

gdbrun() { # gdb args... : batch, no init files, our script
    gdb -nx -batch -ex "set pagination off" -ex "source $script" "$@" 2>&1
}

failed=0
check() { # MODE GDB-TARGET-ARGS...
    mode=$1
    shift
    gdbrun "$@" -ex "info goroutines" >"$tmp/info.$mode"
    if grep -q "ptrace: Operation not permitted" "$tmp/info.$mode"; then
        echo "skipped: no ptrace rights"
        exit 77
    fi
    bts=""
    for f in $fns; do
        st=$(state_of "$f")
        line=$(grep "^goroutine [0-9]* \[$st\] in $f (.*gdb_target.c:[0-9]*)\( calling go_[a-z_]*\)\{0,1\}, created by gdb_spawner at .*gdb_target.c:[0-9]* in goroutine $spawner\$" "$tmp/info.$mode")
        if [ -z "$line" ]; then
            echo "*** $mode: no goroutine [$st] in $f created by gdb_spawner in goroutine $spawner"
            failed=1
            continue
        fi
        id=$(echo "$line" | sed 's/^goroutine \([0-9]*\) .*/\1/')
        bts="$bts $id:$f"
    done
    args=""
    for b in $bts; do
        args="$args -ex 'goroutine ${b%%:*} bt'"
    done
    eval gdbrun "\"\$@\"" $args >"$tmp/bt.$mode"
    for b in $bts; do
        id=${b%%:*}
        f=${b#*:}
        # The block for goroutine id: from its header to the next.
        awk -v h="goroutine $id [" 'index($0, h) == 1 { on = 1; print; next } /^goroutine [0-9]+ \[/ { on = 0 } on' \
            "$tmp/bt.$mode" >"$tmp/one"
        if ! grep -q " in $f () at .*gdb_target.c:[0-9]*" "$tmp/one" ||
            ! grep -q "^created by gdb_spawner at .*gdb_target.c:[0-9]* in goroutine $spawner" "$tmp/one"; then
            echo "*** $mode: goroutine $id bt lacks $f or its creator:"
            cat "$tmp/one"
            failed=1
        fi
    done
    if [ "$failed" = 0 ]; then
        echo "$mode: info goroutines and goroutine N bt found all $(echo $fns | wc -w) goroutines"
    else
        echo "--- info goroutines ($mode):"
        cat "$tmp/info.$mode"
        echo "--- bt ($mode):"
        cat "$tmp/bt.$mode"
    fi
}

check live -p "$pid"
gcore -o "$tmp/core" "$pid" >"$tmp/gcore.log" 2>&1 || { echo "gcore failed:"; cat "$tmp/gcore.log"; exit 1; }
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
check core "$target" "$tmp/core.$(ls "$tmp" | sed -n 's/^core\.//p' | head -n 1)"
exit $failed
