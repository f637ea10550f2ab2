#!/usr/bin/env bash
# tools/check-refs.sh [ROOT] - every file, and every section of a Markdown
# file, that the project's sources and docs name must exist in this tree.
#
# It looks for paths under the project's own folders (src/, include/,
# docs/, tests/, tools/, bench/, examples/, cmake/, fuzz/) in C sources,
# headers, assembly, CMake files, shell scripts and Markdown, and for
# references of the form  docs/NAME.md, "Section"  (a heading of that
# Markdown file). Prints each broken reference as FILE:LINE: what, and
# exits 1 if there is any. Paths git ignores (build outputs) are not
# checked. Run by ctest as the test `refs`.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# Files to read: tracked ones when this is a git checkout, else all.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files -co --exclude-standard -- '*.c' '*.h' '*.S' '*.md' '*.sh' \
        'CMakeLists.txt' '*.cmake' '*.in' 'Makefile' | grep -v '^build')
else
    files=$(find . -path ./build -prune -o -type f \( -name '*.[chS]' -o -name '*.md' \
        -o -name '*.sh' -o -name CMakeLists.txt -o -name '*.cmake' -o -name Makefile \) \
        -print | sed 's|^\./||')
fi

bad=0
dirs='src|include|docs|tests|tools|bench|examples|cmake|fuzz'
for f in $files; do
    [ -f "$f" ] || continue
    [ "$f" = tools/check-refs.sh ] && continue # its own examples
    # Plain paths. A trailing '.' or ',' is punctuation; a '*' or '<' or a
    # $ means a pattern or a variable, not a file.
    while IFS=: read -r line ref; do
        ref=${ref%.}
        ref=${ref%,}
        case $ref in *'*'* | *'<'* | *'$'* | *'{'*) continue ;; esac
        # Outputs (bench/out/...) are named before they are made.
        if [ ! -e "$ref" ] && [ ! -e "$(dirname "$f")/$ref" ] &&
            ! git check-ignore -q "$ref" 2>/dev/null; then
            echo "$f:$line: names $ref, which does not exist"
            bad=1
        fi
    done < <(grep -noE "(^|[^A-Za-z0-9_./=-])($dirs)/[A-Za-z0-9_.*<>\${}/-]*[A-Za-z0-9_]\.(c|h|S|md|sh|go|cmake|in|py|txt)\b" "$f" |
        sed -E "s/^([0-9]+):[^a-z]?/\1:/")
    # Sections: docs/NAME.md, "Heading".
    while IFS=: read -r line doc sect; do
        if [ ! -f "$doc" ] || ! grep -qE "^#+ +$sect\$" "$doc"; then
            echo "$f:$line: names section \"$sect\" of $doc, which has no such heading"
            bad=1
        fi
    done < <(grep -noE "docs/[A-Za-z0-9_-]+\.md, \"[^\"]+\"" "$f" |
        sed -E 's/^([0-9]+):(docs\/[^,]+), "([^"]+)"/\1:\2:\3/')
done
if [ $bad = 0 ]; then
    echo "refs: every file and section named exists"
fi
exit $bad
