#!/bin/sh
# cross-aarch64.sh - builds tests/test_mcontext.c against every context
# switch in src/arch and runs it: the aarch64 assembly (and the ucontext
# fallback) cross-compiled with aarch64-linux-gnu-gcc and run under
# qemu-aarch64, then the host's assembly switch and the ucontext fallback
# built natively with gcc and clang. It does not build or test the
# scheduler, and it needs no CMake, so it can run while the build is in
# flux.
#
# Usage: tools/cross-aarch64.sh   (from anywhere; exits non-zero if any
# build or test fails, or if the cross toolchain is missing and cannot be
# installed).

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

# The warning flags are part of what is tested: every implementation must
# build cleanly with both compilers.
CFLAGS="-Wall -Wextra -Werror -O2 -I src/arch"
TEST=tests/test_mcontext.c
A64_SYSROOT=/usr/aarch64-linux-gnu
INSTALL_CMD="apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"

out=$(mktemp -d "${TMPDIR:-/tmp}/go-context-test.XXXXXX") || exit 2
trap 'rm -rf "$out"' EXIT
trap 'exit 130' INT TERM

passed=""
failed=""
skipped=""

# run NAME RUNNER... BINARY: runs one test binary and records the result.
run() {
    name=$1
    shift
    echo "--- run $name: $*"
    if "$@"; then
        passed="$passed
  $name"
    else
        echo "*** $name: test FAILED (exit status $?)"
        failed="$failed
  $name"
    fi
}

# build NAME COMPILER ARGS...: compiles one test binary into $out/NAME;
# a failed build counts as a failed test, since warnings are errors.
build() {
    name=$1
    shift
    echo "--- build $name: $* $CFLAGS -o $out/$name"
    # CFLAGS is deliberately split into words.
    # shellcheck disable=SC2086
    if "$@" $CFLAGS -o "$out/$name"; then
        return 0
    fi
    echo "*** $name: build FAILED"
    failed="$failed
  $name (build)"
    return 1
}

# The cross toolchain: the compiler, the target's libc headers and
# libraries (without which the compiler cannot link), and qemu.
have_cross() {
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 &&
        command -v qemu-aarch64 >/dev/null 2>&1 &&
        [ -e "$A64_SYSROOT/include/stdio.h" ]
}

if ! have_cross; then
    echo "The aarch64 cross toolchain or qemu-user is missing. Install it with:"
    echo "  $INSTALL_CMD"
    if [ "$(id -u)" -eq 0 ]; then
        echo "Running that now (as root)."
        # A fresh container has no package lists yet, so update once if
        # the first attempt cannot find the packages.
        $INSTALL_CMD || { apt-get update && $INSTALL_CMD; }
    fi
    if ! have_cross; then
        echo "*** cannot build for aarch64 without the packages above"
        exit 2
    fi
fi

# --- aarch64 under qemu -------------------------------------------------

A64_ASM="src/arch/context_aarch64.S src/arch/context_frame.c"
UCTX="-DGO_CONTEXT_UCONTEXT src/arch/context_ucontext.c src/arch/context_frame.c"

# shellcheck disable=SC2086
if build aarch64-gcc-asm aarch64-linux-gnu-gcc $A64_ASM $TEST; then
    run aarch64-gcc-asm qemu-aarch64 -L "$A64_SYSROOT" "$out/aarch64-gcc-asm"
fi
# Branch protection changes what the assembly must emit (a BTI landing
# pad and the GNU property note), so build that variant too.
# shellcheck disable=SC2086
if build aarch64-gcc-asm-bti aarch64-linux-gnu-gcc -mbranch-protection=standard \
    $A64_ASM $TEST; then
    run aarch64-gcc-asm-bti qemu-aarch64 -L "$A64_SYSROOT" "$out/aarch64-gcc-asm-bti"
fi
# shellcheck disable=SC2086
if build aarch64-gcc-ucontext aarch64-linux-gnu-gcc $UCTX $TEST; then
    run aarch64-gcc-ucontext qemu-aarch64 -L "$A64_SYSROOT" "$out/aarch64-gcc-ucontext"
fi

# clang cross-compiles with the same sysroot and binutils when it was
# built with the AArch64 target. Probe with an empty program first so a
# clang without that target is a skip, not a failure.
if command -v clang >/dev/null 2>&1 &&
    echo 'int main(void) { return 0; }' >"$out/probe.c" &&
    clang --target=aarch64-linux-gnu "$out/probe.c" -o "$out/probe" >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    if build aarch64-clang-asm clang --target=aarch64-linux-gnu $A64_ASM $TEST; then
        run aarch64-clang-asm qemu-aarch64 -L "$A64_SYSROOT" "$out/aarch64-clang-asm"
    fi
    # shellcheck disable=SC2086
    if build aarch64-clang-ucontext clang --target=aarch64-linux-gnu $UCTX $TEST; then
        run aarch64-clang-ucontext qemu-aarch64 -L "$A64_SYSROOT" \
            "$out/aarch64-clang-ucontext"
    fi
else
    skipped="$skipped
  aarch64-clang-* (clang cannot build for aarch64-linux-gnu here)"
fi

# --- native builds ------------------------------------------------------

case $(uname -m) in
x86_64 | amd64) NATIVE_ASM="src/arch/context_x86_64.S src/arch/context_frame.c" ;;
aarch64 | arm64) NATIVE_ASM="$A64_ASM" ;;
*) NATIVE_ASM="" ;;
esac

for cc in gcc clang; do
    if ! command -v $cc >/dev/null 2>&1; then
        skipped="$skipped
  native-$cc-* ($cc not installed)"
        continue
    fi
    if [ -n "$NATIVE_ASM" ]; then
        # shellcheck disable=SC2086
        if build native-$cc-asm $cc $NATIVE_ASM $TEST; then
            run native-$cc-asm "$out/native-$cc-asm"
        fi
    else
        skipped="$skipped
  native-$cc-asm (no assembly switch for $(uname -m))"
    fi
    # shellcheck disable=SC2086
    if build native-$cc-ucontext $cc $UCTX $TEST; then
        run native-$cc-ucontext "$out/native-$cc-ucontext"
    fi
done

# --- summary ------------------------------------------------------------

echo
echo "passed:${passed:- none}"
[ -n "$skipped" ] && echo "skipped:$skipped"
if [ -n "$failed" ]; then
    echo "FAILED:$failed"
    exit 1
fi
echo "all context switch tests passed"
exit 0
