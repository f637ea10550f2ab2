#!/bin/sh
# test_ucontext.sh - builds the portable ucontext variant of the library
# (-DGO_CONTEXT_UCONTEXT=ON, the fallback for machines without an assembly
# switch) from this source tree, with its tests, and runs them at
# GOMAXPROCS=2 together with the raw-switch test. The default build uses
# the assembly switch, so without this check the fallback could stop
# building, or stop working, unnoticed.
#
# Usage: test_ucontext.sh SOURCE_DIR WORK_DIR [CC]
# WORK_DIR is created (and reused by later runs); the build goes there.
# Exit status: 0 if the variant built and every test it ran passed.

set -u

src=${1:?usage: test_ucontext.sh SOURCE_DIR WORK_DIR [CC]}
work=${2:?usage: test_ucontext.sh SOURCE_DIR WORK_DIR [CC]}
CC=${3:-cc}

mkdir -p "$work" || exit 1
echo "== configuring the ucontext variant in $work"
CC=$CC cmake -S "$src" -B "$work" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DGO_CONTEXT_UCONTEXT=ON -DGO_BUILD_BENCH=OFF -DGO_BUILD_EXAMPLES=OFF >"$work/configure.log" 2>&1 || {
    cat "$work/configure.log"
    echo "*** ucontext test FAILED: cmake configure"
    exit 1
}
grep -q '^GO_CONTEXT_UCONTEXT:BOOL=ON' "$work/CMakeCache.txt" || {
    echo "*** ucontext test FAILED: the variant was not configured with GO_CONTEXT_UCONTEXT=ON"
    exit 1
}
echo "== building"
cmake --build "$work" -j2 >"$work/build.log" 2>&1 || {
    tail -40 "$work/build.log"
    echo "*** ucontext test FAILED: build"
    exit 1
}
# Every GOMAXPROCS=2 variant and the raw-switch test. Left out: the million
# parked goroutines (slow, and nothing in it depends on the switch) and
# the tests that do not depend on how this tree is built.
echo "== running its tests"
cd "$work" || exit 1
sel_r='(\.p2$|^test_mcontext$)'
sel_e='(test_chan_mass|valgrind_clean)'
ctest -N -R "$sel_r" -E "$sel_e" | grep -q 'Total Tests: [1-9]' || {
    echo "*** ucontext test FAILED: no tests were selected"
    exit 1
}
ctest -j2 --output-on-failure -R "$sel_r" -E "$sel_e" >"$work/ctest.log" 2>&1
status=$?
tail -25 "$work/ctest.log"
if [ $status -ne 0 ]; then
    echo "*** ucontext test FAILED: ctest exited $status (log: $work/ctest.log)"
    exit 1
fi
echo "ucontext variant: built and passed"
exit 0
