#!/bin/sh
# check_symbols.sh - the libraries define no global name but the public
# API's: go, go_* and GO_* (include/goroutine.h). Anything else -- an
# internal function or variable left global -- would clash with a user's
# own symbol of that name in a static link, or be interposable in a
# dynamic one.
#
#   libgoroutine.a:  every defined global symbol (nm -g --defined-only);
#   libgoroutine.so: every defined dynamic symbol (nm -D --defined-only).
#
# libgoroutine-hook's libraries also define the libc names they hook:
# --hooks src/hook.c allows exactly the functions that file defines with
# HOOK (and no other name).
#
# Usage: check_symbols.sh [--nm NM] [--hooks HOOK_C] LIBRARY...
# Exit status 0 if every library is clean, 1 (listing the offenders) if not.

set -u
NM=nm
hooks=
while [ $# -gt 0 ]; do
    case "$1" in
    --nm) NM=$2; shift 2 ;;
    --hooks)
        hooks=$(sed -n 's/^HOOK [^(]*[ *]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' "$2" | sort -u)
        [ -n "$hooks" ] || { echo "FAILED: no HOOK definitions found in $2"; exit 1; }
        shift 2 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: check_symbols.sh [--nm NM] [--hooks HOOK_C] LIBRARY..."; exit 2; }

status=0
for lib in "$@"; do
    case "$lib" in
    *.a) opt=-g ;;
    *) opt=-D ;;
    esac
    # Output lines are "[value] type name"; archives also print member
    # headers ("x.o:") and blank lines, which have no type field.
    all=$("$NM" $opt --defined-only "$lib") || { echo "FAILED: $NM $opt $lib"; status=1; continue; }
    names=$(printf '%s\n' "$all" | awk 'NF >= 2 && $(NF-1) ~ /^[A-Za-z]$/ {print $NF}' | sort -u)
    count=$(printf '%s\n' "$names" | grep -c .)
    bad=$(printf '%s\n' "$names" | grep -v -E '^(go|go_[A-Za-z0-9_]+|GO_[A-Za-z0-9_]+)$' |
        grep -v -x -F "${hooks:-go}" | grep . )
    if [ "$count" -eq 0 ]; then
        echo "FAILED: $lib: no defined global symbols found at all"
        status=1
    elif [ -n "$bad" ]; then
        echo "FAILED: $lib defines $(printf '%s\n' "$bad" | grep -c .) global symbols outside the public API:"
        printf '  %s\n' $bad
        status=1
    else
        echo "$lib: $count global symbols, all go/go_/GO_${hooks:+ or hooked libc names}"
    fi
done
exit $status
