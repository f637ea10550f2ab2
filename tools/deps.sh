#!/usr/bin/env bash
# Make sure the tools a target needs are installed. As root, install what is
# missing with apt-get; otherwise print the exact command and fail.
#   tools/deps.sh build   compiler, cmake, make
#   tools/deps.sh bench   the above plus Go (golang-go), gnuplot, wrk (the
#                         http benchmark's client) and bc (make bench also
#                         runs test's set-up: the hook benchmarks use it)
#   tools/deps.sh tsan    the build tools plus clang with its TSan runtime
#   tools/deps.sh test    the build tools plus the real servers and client
#                         libraries the libc-hook tests run against (Redis,
#                         hiredis, PostgreSQL, libpq, libcurl, redis-cli, curl)
#   tools/deps.sh fuzz    the build tools plus clang with libFuzzer and the
#                         ASan/UBSan runtimes (make fuzz)
#   tools/deps.sh trace   the build tools plus python3 and rsvg-convert
#                         (librsvg2-bin), which draw docs/trace.png (make trace-demo)
set -euo pipefail
what=${1:-build}
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have cc || need+=(gcc)
have cmake || need+=(cmake)
have make || need+=(make)
[ "$what" = tsan ] && ! have clang && need+=(clang)
if [ "$what" = test ]; then
    have redis-server || need+=(redis-server)
    have redis-cli || need+=(redis-tools)
    have curl || need+=(curl)
    [ -e /usr/include/hiredis/hiredis.h ] || need+=(libhiredis-dev)
    [ -e /usr/include/postgresql/libpq-fe.h ] || need+=(libpq-dev)
    [ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -e /usr/include/curl/curl.h ] ||
        ls /usr/include/*/curl/curl.h >/dev/null 2>&1 || need+=(libcurl4-openssl-dev)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
fi
[ "$what" = fuzz ] && ! have clang && need+=(clang)
if [ "$what" = trace ]; then
    have python3 || need+=(python3)
    have rsvg-convert || need+=(librsvg2-bin)
fi
if [ "$what" = bench ]; then
    have go || need+=(golang-go)
    have gnuplot || need+=(gnuplot-nox)
    have wrk || need+=(wrk)
    have bc || need+=(bc) # bench/hook.sh's ratios
fi
install() {
    if [ "$(id -u)" = 0 ] && have apt-get; then
        echo "deps: installing $*" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "deps: missing $*; install with:" >&2
        echo "  sudo apt-get install -y $*" >&2
        exit 1
    fi
}
# gdb (and its gcore) for the gdb extension's tests (skipped without).
have gdb || need+=(gdb)
# libunwind's header, for goroutine dumps unwound from saved registers
# (optional: without it, frame-pointer backtraces). Debian names it so.
if have dpkg-query && ! dpkg-query -W -f='${Status}' libunwind-dev 2>/dev/null | grep -q 'ok installed'; then
    need+=(libunwind-dev)
fi
[ ${#need[@]} -eq 0 ] || install "${need[@]}"
# Debian ships clang's sanitizer runtimes in libclang-rt-N-dev, which clang
# only recommends: check that a TSan program links.
tsan_links() {
    local out
    out=$(mktemp)
    printf 'int main(void) { return 0; }\n' |
        clang -fsanitize=thread -x c - -o "$out" >/dev/null 2>&1
    local st=$?
    rm -f "$out"
    return $st
}
if [ "$what" = tsan ] && ! tsan_links; then
    install "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
    tsan_links || { echo "deps: clang cannot link -fsanitize=thread programs" >&2; exit 1; }
fi
# libFuzzer ships in the same package (libclang_rt.fuzzer*.a).
fuzz_links() {
    local out
    out=$(mktemp)
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
        clang -fsanitize=fuzzer,address,undefined -x c - -o "$out" >/dev/null 2>&1
    local st=$?
    rm -f "$out"
    return $st
}
if [ "$what" = fuzz ] && ! fuzz_links; then
    install "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
    fuzz_links || { echo "deps: clang cannot link -fsanitize=fuzzer programs" >&2; exit 1; }
fi
exit 0
