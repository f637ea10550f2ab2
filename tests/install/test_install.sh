#!/bin/sh
# test_install.sh - installs a build of libgoroutine into a fresh prefix and
# uses it the three ways a user would, running each program it builds:
#
#   1. pkg-config: module goroutine (the shared library; run through an
#      rpath to its libdir, and through LD_LIBRARY_PATH) and module
#      goroutine-static (the archive, with and without --static);
#   2. CMake: find_package(goroutine REQUIRED) with goroutine::goroutine
#      (shared), goroutine::goroutine_static and goroutine::goroutine_shared;
#   3. the shared library by hand: -lgoroutine with an rpath, and with
#      LD_LIBRARY_PATH.
#
# Every program is run, and readelf checks which library it links. It also
# checks that the installed libraries define nothing but go_* symbols.
#
# Usage: test_install.sh BUILD_DIR PROGRAM.c [CC]
# Exit status: 0 if everything built and ran, 1 otherwise. A failed step
# does not stop the others (only the steps that need it): the summary at
# the end lists every failure.

set -u

build=${1:?usage: test_install.sh BUILD_DIR PROGRAM.c [CC]}
prog=${2:?usage: test_install.sh BUILD_DIR PROGRAM.c [CC]}
CC=${3:-cc}

failed=""

# fatal MESSAGE: a failure after which nothing else can be checked.
fatal() {
    echo "*** install test FAILED: $*"
    exit 1
}

# fail MESSAGE: records a failure and goes on.
fail() {
    echo "*** FAILED: $*"
    failed="$failed
  $*"
}

# run NAME COMMAND...: runs a step, showing it; records a failure and
# returns non-zero if it fails.
run() {
    name=$1
    shift
    echo "--- $name: $*"
    "$@"
    rc=$?
    [ "$rc" -eq 0 ] && return 0
    fail "$name (exit status $rc)"
    return 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/go-install-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
prefix=$tmp/prefix

# --- pkg-config, installed if missing and we may --------------------------

if ! command -v pkg-config >/dev/null 2>&1; then
    echo "pkg-config is missing. Install it with:"
    echo "  apt-get install -y pkgconf"
    if [ "$(id -u)" -eq 0 ]; then
        echo "Running that now (as root)."
        apt-get install -y pkgconf || { apt-get update && apt-get install -y pkgconf; }
    fi
    command -v pkg-config >/dev/null 2>&1 || fatal "no pkg-config"
fi

# --- install ----------------------------------------------------------------------

run install cmake --install "$build" --prefix "$prefix" || fatal "cmake --install"

pc=$(find "$prefix" -name goroutine.pc | head -n 1)
[ -n "$pc" ] || fatal "goroutine.pc not installed"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir") # lib, lib64 or lib/<multiarch>
echo "libdir: $libdir"
[ -f "$libdir/libgoroutine.a" ] || fatal "no libgoroutine.a in $libdir"
[ -e "$libdir/libgoroutine.so" ] || fatal "no libgoroutine.so in $libdir"
[ -f "$prefix/include/goroutine.h" ] || fatal "no include/goroutine.h"
[ -f "$pcdir/goroutine-static.pc" ] || fatal "no goroutine-static.pc in $pcdir"
[ ! -e "$libdir/libgoroutine_internal.a" ] || fail "the tests' libgoroutine_internal.a was installed"

# needs BINARY LIB: true if BINARY has a DT_NEEDED entry for LIB*.
needs() {
    readelf -d "$1" | grep NEEDED | grep -q "\\[$2"
}

# --- the installed libraries define only the public API ----------------------

if command -v nm >/dev/null 2>&1; then
    run symbols sh "$(dirname "$0")/../symbols/check_symbols.sh" \
        "$libdir/libgoroutine.a" "$libdir/libgoroutine.so"
fi

# --- 1. pkg-config: goroutine (shared) and goroutine-static --------------------

export PKG_CONFIG_PATH="$pcdir"
warn="-std=c99 -Wall -Wextra -Werror -pedantic"

# The .pc files must describe where the files were installed, not where the
# build was configured to install them (cmake --install --prefix).
for m in goroutine goroutine-static; do
    case "$(pkg-config --variable=includedir $m)" in
    "$prefix"/*) ;;
    *) fail "$m.pc says prefix=$(pkg-config --variable=prefix $m), but it was installed under $prefix" ;;
    esac
done

# Shared, as the README shows it for a prefix outside the loader's path:
# an rpath to pkg-config's libdir; the program runs with no
# LD_LIBRARY_PATH and must need libgoroutine.so.
flags=$(pkg-config --cflags --libs goroutine) || fatal "pkg-config goroutine"
pclibdir=$(pkg-config --variable=libdir goroutine)
echo "pkg-config --cflags --libs goroutine: $flags (libdir $pclibdir)"
# shellcheck disable=SC2086
if run pkgconfig-shared-build "$CC" $warn -o "$tmp/pc-shared" "$prog" $flags \
    -Wl,-rpath,"$pclibdir"; then
    needs "$tmp/pc-shared" libgoroutine ||
        fail "pkg-config goroutine did not link the shared library"
    run pkgconfig-shared-run env -u LD_LIBRARY_PATH "$tmp/pc-shared"
fi
# Without the rpath, LD_LIBRARY_PATH does it.
# shellcheck disable=SC2086
if run pkgconfig-shared-norpath-build "$CC" $warn -o "$tmp/pc-shared-norpath" "$prog" $flags; then
    run pkgconfig-shared-norpath-run env LD_LIBRARY_PATH="$libdir" "$tmp/pc-shared-norpath"
fi

# Static: goroutine-static names the archive itself, so it is used even
# though libgoroutine.so lies next to it; with and without --static.
for st in "" --static; do
    # shellcheck disable=SC2086
    flags=$(pkg-config --cflags --libs $st goroutine-static) ||
        fatal "pkg-config $st goroutine-static"
    echo "pkg-config --cflags --libs $st goroutine-static: $flags"
    # shellcheck disable=SC2086
    if run "pkgconfig-static$st-build" "$CC" $warn -o "$tmp/pc-static" "$prog" $flags; then
        if needs "$tmp/pc-static" libgoroutine; then
            fail "pkg-config $st goroutine-static linked libgoroutine.so"
        fi
        run "pkgconfig-static$st-run" env -u LD_LIBRARY_PATH "$tmp/pc-static"
    fi
done

# --- 2. CMake find_package ---------------------------------------------------------

proj=$tmp/consumer
mkdir -p "$proj"
cp "$prog" "$proj/main.c"
cat >"$proj/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(goroutine_consumer C)
find_package(goroutine REQUIRED)
add_executable(consumer_default main.c)
target_link_libraries(consumer_default PRIVATE goroutine::goroutine)
add_executable(consumer_static main.c)
target_link_libraries(consumer_static PRIVATE goroutine::goroutine_static)
add_executable(consumer_shared main.c)
target_link_libraries(consumer_shared PRIVATE goroutine::goroutine_shared)
EOF
if run cmake-configure cmake -S "$proj" -B "$proj/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Release &&
    run cmake-build cmake --build "$proj/build"; then
    needs "$proj/build/consumer_default" libgoroutine ||
        fail "goroutine::goroutine did not link the shared library"
    needs "$proj/build/consumer_static" libgoroutine &&
        fail "goroutine::goroutine_static linked the shared library"
    needs "$proj/build/consumer_shared" libgoroutine ||
        fail "goroutine::goroutine_shared did not link the shared library"
    # CMake gives the build tree an rpath to the imported library.
    run cmake-shared-run env -u LD_LIBRARY_PATH "$proj/build/consumer_default"
    run cmake-static-run env -u LD_LIBRARY_PATH "$proj/build/consumer_static"
    run cmake-shared-explicit-run env -u LD_LIBRARY_PATH "$proj/build/consumer_shared"
fi

# --- 3. the shared library by hand --------------------------------------------------

# shellcheck disable=SC2086
if run shared-rpath-build "$CC" $warn -o "$tmp/shared-rpath" "$prog" -I"$prefix/include" \
    -L"$libdir" -lgoroutine -Wl,-rpath,"$libdir"; then
    needs "$tmp/shared-rpath" libgoroutine ||
        fail "shared-rpath did not link the shared library"
    run shared-rpath-run env -u LD_LIBRARY_PATH "$tmp/shared-rpath"
fi
# shellcheck disable=SC2086
if run shared-build "$CC" $warn -o "$tmp/shared" "$prog" -I"$prefix/include" \
    -L"$libdir" -lgoroutine; then
    run shared-run env LD_LIBRARY_PATH="$libdir" "$tmp/shared"
fi

if [ -n "$failed" ]; then
    echo
    echo "install test FAILED:$failed"
    exit 1
fi
echo "install test passed"
exit 0
