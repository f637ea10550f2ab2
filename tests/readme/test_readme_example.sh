#!/bin/sh
# The README's "Example" section, compiled as a user would copy it (with
# -Wall -Wextra -Werror against the static library) and run at
# GOMAXPROCS 1, 2 and 8: it must exit 0, so the README cannot drift from
# the API. Usage: test_readme_example.sh README BUILD_DIR INCLUDE_DIR CC
set -eu
readme=$1 build=$2 inc=$3 cc=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The first ```c block after "## Example".
awk '/^## Example/ { sec = 1 } sec && /^```c/ { code = 1; next }
     code && /^```/ { exit } code' "$readme" > "$tmp/example.c"
if [ ! -s "$tmp/example.c" ]; then
    echo "no C block under '## Example' in $readme" >&2
    exit 1
fi
grep -q 'go_main' "$tmp/example.c" || { echo "README example does not use go_main" >&2; exit 1; }
"$cc" -std=c11 -Wall -Wextra -Werror -I"$inc" "$tmp/example.c" \
    "$build/libgoroutine.a" -lpthread -o "$tmp/example"
for n in 1 2 8; do
    GOMAXPROCS=$n "$tmp/example" || { echo "README example exited $? at GOMAXPROCS=$n" >&2; exit 1; }
done
echo "README example: compiled warning-free, exit 0 at GOMAXPROCS 1, 2, 8"
