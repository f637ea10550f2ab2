#!/usr/bin/env bash
# Make sure the tools a target needs are installed. As root, install what is
# missing with apt-get; otherwise print the exact command and fail.
#   tools/deps.sh build   compiler, cmake, make
#   tools/deps.sh bench   the above plus Go (golang-go), gnuplot and wrk (the
#                         http benchmark's client)
set -euo pipefail
what=${1:-build}
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have cc || need+=(gcc)
have cmake || need+=(cmake)
have make || need+=(make)
if [ "$what" = bench ]; then
    have go || need+=(golang-go)
    have gnuplot || need+=(gnuplot-nox)
    have wrk || need+=(wrk)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && have apt-get; then
    echo "deps: installing ${need[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
    echo "deps: missing ${need[*]}; install with:" >&2
    echo "  sudo apt-get install -y ${need[*]}" >&2
    exit 1
fi
