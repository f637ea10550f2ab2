#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR] - run every workload in C (libgoroutine) and in
# Go (its twin in bench/go/), side by side, and compare.
#
#   BUILD_DIR     the CMake build directory holding bench/bench_<name>
#                 (default: build). The Go twins are built into
#                 BUILD_DIR/bench/go/ with GOCACHE under BUILD_DIR.
#   BENCH_ONLY    comma-separated workloads to run (e.g. spawn,yield,fib);
#                 a name matches its variants (fib = fib at 1P and 2P).
#   BENCH_RUNS    runs per language and workload (default 7, 5 for the slow
#                 ones; at least 1).
#   BENCH_TIMEOUT seconds before one run is killed (default 180).
#   BENCH_REPORT_ONLY=1  run nothing: redo the table and the chart from the
#                 last run's bench/out/raw.txt.
#   BENCH_NICE    run the programs under `nice -n BENCH_NICE` (e.g. -10 as
#                 root, to shield them from other work on a shared machine;
#                 C and Go alike). Default: no nice.
#
# For each workload the C and the Go program run alternately (C first on odd
# runs, Go first on even ones), so machine noise hits both alike; the
# medians are compared. Output: a table on stdout, the same table as
# Markdown in bench/out/results.md, the raw RESULT lines in
# bench/out/raw.txt, and a chart of the C/Go ratios (gnuplot, SVG) in
# bench/out/bench.svg. A full run (no BENCH_ONLY) also copies the chart to
# docs/bench.svg and the table to docs/bench-results.md, the committed
# copies. A ratio below 1 means C is faster (or smaller).
#
# Exit status: 0 if every program that ran checked its result, 1 if one
# failed (a wrong answer, a crash or a timeout; its log is in bench/out/).
# A workload whose C binary is missing is reported "not built" and skipped.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build_arg=${1:-build}
case $build_arg in /*) ;; *) build_arg=$PWD/$build_arg ;; esac
if [ ! -d "$build_arg" ]; then
    echo "run.sh: no build directory $build_arg (run: make build)" >&2
    exit 2
fi
build=$(cd "$build_arg" && pwd)
out=$here/out
cbin=$build/bench
gobin=$build/bench/go
mkdir -p "$out" "$gobin"
[ -n "${BENCH_REPORT_ONLY:-}" ] || rm -f "$out"/*.err

# ---- the workloads ------------------------------------------------------
# id  program  GOMAXPROCS (- = the default: unset)  runs  [C arguments]
workloads=(
    "spawn      spawn     -  7"
    "spawn1     spawn     1  7"
    "spawn1g    spawn     1  7  1000000 g"
    "yield      yield     1  7"
    "fib1       fib       1  7"
    "fib2       fib       2  7"
    "pingpong1  pingpong  1  7"
    "pingpong2  pingpong  2  7"
    "mpmc       mpmc      2  7"
    "select     select    -  7"
    "chain      chain     -  5"
    "sieve      sieve     -  5"
    "mutex      mutex     2  7"
    "timers     timers    -  5"
    "parked     parked    -  5"
    "syscall    syscall   2  5"
    "preempt    preempt   1  5"
    "mainc1     main-consumer 1  5"
    "mainc2     main-consumer 2  5"
    "mainc8     main-consumer 8  5"
    "echo       echo      -  5"
    "http       http      -  3"
)
# echo and http measure servers: bench/go/netdriver starts the server (C:
# the examples; Go: bench/go/echoserver, httpserver), runs the one client
# (its own Go echo client, or wrk) against it and prints the RESULT line.
# For echo in C it also measures the hand-written epoll server, the
# ceiling. GOMAXPROCS applies to the server and the driver alike.

selected() { # id program
    [ -z "${BENCH_ONLY:-}" ] && return 0
    local w
    IFS=, read -ra ws <<<"$BENCH_ONLY"
    for w in "${ws[@]}"; do
        w=${w// /}
        [ "$w" = "$1" ] || [ "$w" = "$2" ] && return 0
    done
    return 1
}

if [ -n "${BENCH_ONLY:-}" ]; then
    IFS=, read -ra ws <<<"$BENCH_ONLY"
    for w in "${ws[@]}"; do
        w=${w// /}
        printf '%s\n' "${workloads[@]}" | awk -v w="$w" '$1 == w || $2 == w { f = 1 } END { exit !f }' ||
            { echo "run.sh: BENCH_ONLY: no workload '$w'" >&2; exit 2; }
    done
fi
if [ -n "${BENCH_RUNS:-}" ] && ! [ "$BENCH_RUNS" -ge 1 ] 2>/dev/null; then
    echo "run.sh: BENCH_RUNS must be a positive number" >&2
    exit 2
fi

raw=$out/raw.txt
info=$out/run.info
status=0
if [ -n "${BENCH_REPORT_ONLY:-}" ]; then
    # Redo the table and the chart from the last run's raw results.
    [ -s "$raw" ] && [ -f "$info" ] || { echo "run.sh: no previous run in $out" >&2; exit 2; }
    # shellcheck source=/dev/null
    . "$info"
    grep -q " FAILED$" "$raw" && status=1
else
    # A build directory configured before bench/CMakeLists.txt existed, or with
    # -DGO_BUILD_BENCH=OFF, has no bench targets: asking for the benchmarks
    # turns them on there (cmake -DGO_BUILD_BENCH=ON) and builds them.
    if [ -f "$build/CMakeCache.txt" ] && [ ! -d "$build/bench/CMakeFiles" ]; then
        echo "run.sh: $build has no C benchmark targets; running cmake -DGO_BUILD_BENCH=ON $build" >&2
        if cmake -DGO_BUILD_BENCH=ON "$build" >/dev/null; then
            cmake --build "$build" -j"$(nproc)" >/dev/null || echo "run.sh: building the C benchmarks failed" >&2
        else
            echo "run.sh: cmake failed; the C benchmarks stay unbuilt" >&2
        fi
    fi

    # ---- build the Go twins ---------------------------------------------------
    if ! command -v go >/dev/null 2>&1; then
        echo "run.sh: go not found (tools/deps.sh bench installs golang-go)" >&2
        exit 2
    fi
    export GOCACHE=$build/bench/gocache GOPATH=$build/bench/gopath GO111MODULE=on \
        GOFLAGS='' GOPROXY=off GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
    echo "run.sh: building the Go twins ($(go version | awk '{print $3}')) into $gobin" >&2
    if ! (cd "$here/go" && go build -o "$gobin/" ./...); then
        echo "run.sh: go build failed" >&2
        exit 1
    fi

    # ---- run ----------------------------------------------------------------
    : >"$raw"
    start_all=$(date +%s)
    load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
    if awk -v l="${load_start%% *}" -v n="$(nproc)" 'BEGIN { exit !(l + 0 > n / 4) }'; then
        echo "run.sh: warning: load average ${load_start%% *} on $(nproc) CPUs before starting;" \
            "other processes will skew the timings" >&2
    fi

    nice_cmd=()
    if [ -n "${BENCH_NICE:-}" ]; then
        if nice -n "$BENCH_NICE" true 2>/dev/null && [ "$(nice -n "$BENCH_NICE" nice)" = "$(($(nice) + BENCH_NICE))" ]; then
            nice_cmd=(nice -n "$BENCH_NICE")
        else
            echo "run.sh: cannot nice to $BENCH_NICE (not root?); running at normal priority" >&2
        fi
    fi

    run_one() { # id lang gomaxprocs run command... -> appends to $raw, returns status
        local id=$1 lang=$2 procs=$3 run=$4 line rc
        shift 4
        local err=$out/$id.$lang.$run.err
        if [ "$procs" = - ]; then
            line=$(env -u GOMAXPROCS "${nice_cmd[@]}" timeout -k 5 "${BENCH_TIMEOUT:-180}" "$@" 2>"$err")
        else
            line=$(env GOMAXPROCS="$procs" "${nice_cmd[@]}" timeout -k 5 "${BENCH_TIMEOUT:-180}" "$@" 2>"$err")
        fi
        rc=$?
        line=$(printf '%s\n' "$line" | grep '^RESULT ' | tail -n 1)
        if [ $rc -ne 0 ] || [ -z "$line" ]; then
            [ $rc -eq 124 ] && echo "timed out after ${BENCH_TIMEOUT:-180} s" >>"$err"
            echo "run.sh: $id ($lang) run $run FAILED (exit $rc); stderr: $err" >&2
            sed 's/^/    /' "$err" | tail -n 5 >&2
            echo "$id $lang $run FAILED" >>"$raw"
            return 1
        fi
        [ -s "$err" ] || rm -f "$err"
        echo "$id $lang $run ${line#RESULT }" >>"$raw"
        printf ' %s=%s' "$lang" "$(printf '%s\n' "$line" | sed -n 's/.* value=\([^ ]*\).*/\1/p')" >&2
        return 0
    }

    for w in "${workloads[@]}"; do
        read -r id prog procs runs extra <<<"$w"
        selected "$id" "$prog" || continue
        runs=${BENCH_RUNS:-$runs}
        read -ra cargs <<<"${extra:-}"
        cmd_c=("$cbin/bench_$prog" "${cargs[@]}") cmd_go=("$gobin/$prog") need=$cbin/bench_$prog
        case $prog in
        echo)
            need=$build/examples/echo_server
            cmd_c=("$gobin/netdriver" echo "$need" "$cbin/bench_echo_epoll")
            cmd_go=("$gobin/netdriver" echo "$gobin/echoserver") ;;
        http)
            need=$build/examples/http_hello
            cmd_c=("$gobin/netdriver" http "$need")
            cmd_go=("$gobin/netdriver" http "$gobin/httpserver")
            if ! command -v wrk >/dev/null 2>&1; then
                echo "run.sh: $id: wrk not found (tools/deps.sh bench installs it); skipped" >&2
                echo "$id - - NOTBUILT" >>"$raw"
                continue
            fi ;;
        esac
        if [ ! -x "$need" ]; then
            echo "run.sh: $id: not built ($need missing)" >&2
            echo "$id - - NOTBUILT" >>"$raw"
            continue
        fi
        printf 'run.sh: %-10s (GOMAXPROCS=%s, %d runs each):' "$id" "$procs" "$runs" >&2
        t0=$(date +%s)
        failed=0
        for ((r = 1; r <= runs; r++)); do
            if ((r % 2)); then order="C Go"; else order="Go C"; fi
            for lang in $order; do
                if [ "$lang" = C ]; then
                    run_one "$id" "$lang" "$procs" "$r" "${cmd_c[@]}" || failed=1
                else
                    run_one "$id" "$lang" "$procs" "$r" "${cmd_go[@]}" || failed=1
                fi
            done
            [ $failed = 1 ] && break
        done
        echo " ($(($(date +%s) - t0)) s)" >&2
        [ $failed = 1 ] && status=1
    done
    elapsed_all=$(($(date +%s) - start_all))
    load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
    full_run=$([ -z "${BENCH_ONLY:-}" ] && echo 1)
    printf 'elapsed_all=%q\nload_start=%q\nload_end=%q\nfull_run=%q\nnice_cmd=(%s)\nBENCH_NICE=%q\n' \
        "$elapsed_all" "$load_start" "$load_end" "$full_run" \
        "${nice_cmd[*]:-}" "${BENCH_NICE:-}" >"$info"
fi

# ---- medians, table, chart ---------------------------------------------------
# Rows: label | id | key | unit | target, where target is one of
#   ratio<=X   C/Go ratio of the medians at most X
#   ratio>=X   C/Go ratio of the medians at least X (throughputs: higher is better)
#   C<=X       C's median at most X (absolute)
#   speedup>=X C's fib1/fib2 speedup at least X (the fib speedup row)
#   -          none (reported for context)
# and "chart" says whether the row's ratio goes into the chart.
rows='spawn|spawn|value|ns/goroutine|ratio<=0.5|chart
spawn peak RSS|spawn|rss_kb|KiB|-|chart
spawn (1P)|spawn1|value|ns/goroutine|ratio<=1.0|chart
spawn (1P) peak RSS|spawn1|rss_kb|KiB|ratio<=2.0|chart
spawn (1P), C spawner a goroutine|spawn1g|value|ns/goroutine|ratio<=1.0|chart
spawn (1P), C spawner a goroutine: peak RSS|spawn1g|rss_kb|KiB|ratio<=2.0|chart
yield (1P)|yield|value|ns/yield|ratio<=0.3|chart
fib (1P)|fib1|value|ms|-|chart
fib (2P)|fib2|value|ms|ratio<=0.8|chart
fib speedup 1P/2P|fib|speedup|x|speedup>=1.9|-
fib serial, context|fib1|seq_ms|ms|-|-
fib: host 2-thread scaling, context|fib2|host_x|x|-|-
pingpong (1P)|pingpong1|value|ns/round trip|ratio<=0.5|chart
pingpong (2P)|pingpong2|value|ns/round trip|ratio<=0.8|chart
mpmc (2P)|mpmc|value|ns/msg|ratio<=0.8|chart
select|select|value|ns/msg|ratio<=0.4|chart
chain|chain|value|ms/pass|ratio<=0.5|chart
sieve|sieve|value|ms|ratio<=0.6|chart
mutex (2P)|mutex|value|ns/lock+unlock|ratio<=1.0|chart
timers total|timers|value|ms|-|-
timers overshoot|timers|overshoot_ms|ms over 100|ratio<=0.5|chart
parked (RSS + page tables)|parked|value|bytes/goroutine|ratio<=1.0|chart
parked: RSS part|parked|rss|bytes/goroutine|-|-
parked: page-table part|parked|pte|bytes/goroutine|-|-
syscall (2P)|syscall|value|ms (ideal 100)|ratio<=1.2|chart
preempt worst (1P)|preempt|value|ms late|ratio<=2.0|chart
preempt median (1P)|preempt|median_ms|ms late|-|-
main-consumer (1P)|mainc1|value|ns/value|-|chart
main-consumer (1P): main / goroutine|mainc1|ratio|x|C<=1.5|-
main-consumer (2P)|mainc2|value|ns/value|-|chart
main-consumer (2P): main / goroutine|mainc2|ratio|x|C<=1.5|-
main-consumer (8P)|mainc8|value|ns/value|-|chart
main-consumer (8P): main / goroutine|mainc8|ratio|x|C<=1.5|-
echo|echo|value|msgs/s|ratio>=1.3|chart
echo: C server / epoll loop|echo|vs_epoll|fraction|-|-
http|http|value|requests/s|ratio>=1.5|chart
http p99|http|p99_ms|ms|ratio<=1.0|chart'

plotdata=$out/bench.dat
printf '%s\n' "$rows" | awk -F'|' -v raw="$raw" -v md="$out/results.md" -v plot="$plotdata" \
    -v hdr="$(
        printf 'Machine: %s, %s CPUs, Linux %s. %s, %s. Commit %s. Wall time %d s; load average %s at the start, %s at the end (other processes share the CPUs).' \
            "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" \
            "$(uname -r)" "$(go version | awk '{print $3}')" \
            "$(${CC:-cc} --version 2>/dev/null | head -n 1)" \
            "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')$(
                git -C "$top" diff --quiet HEAD 2>/dev/null || echo ' (modified)')" \
            "$elapsed_all" "$load_start" "$load_end"
        [ ${#nice_cmd[@]} -gt 0 ] && printf ' Programs run under nice -n %s.' "$BENCH_NICE"
    )" '
function median(id, lang, key,    n, i, j, t, a) {
    n = cnt[id SUBSEP lang SUBSEP key]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) a[i] = val[id SUBSEP lang SUBSEP key SUBSEP i] + 0
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# (max - min) / median of the runs, as a percentage: how noisy the row is.
function spread(id, lang, key,    n, i, v, lo, hi, m) {
    n = cnt[id SUBSEP lang SUBSEP key]
    if (n < 2) return "-"
    for (i = 1; i <= n; i++) {
        v = val[id SUBSEP lang SUBSEP key SUBSEP i] + 0
        if (i == 1 || v < lo) lo = v
        if (i == 1 || v > hi) hi = v
    }
    m = median(id, lang, key)
    return m > 0 ? sprintf("%.0f%%", 100 * (hi - lo) / m) : "-"
}
function fmt(v) {
    if (v == "") return ""
    v += 0
    if (v < 0 ? -v >= 1000 : v >= 1000) return sprintf("%.0f", v)
    if (v < 0 ? -v >= 100 : v >= 100) return sprintf("%.1f", v)
    if (v < 0 ? -v >= 1 : v >= 1) return sprintf("%.2f", v)
    return sprintf("%.3f", v)
}
function status_of(id, lang) {
    if (notbuilt[id]) return "not built"
    if (failed[id SUBSEP lang]) return "FAILED"
    return ""
}
BEGIN {
    while ((getline line < raw) > 0) {
        n = split(line, f, " ")
        id = f[1]; lang = f[2]
        if (f[4] == "NOTBUILT") { notbuilt[id] = 1; seen[id] = 1; continue }
        if (f[4] == "FAILED") { failed[id SUBSEP lang] = 1; seen[id] = 1; continue }
        seen[id] = 1
        for (i = 4; i <= n; i++) {
            k = f[i]; sub(/=.*/, "", k)
            v = f[i]; sub(/^[^=]*=/, "", v)
            if (v !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) continue
            c = ++cnt[id SUBSEP lang SUBSEP k]
            val[id SUBSEP lang SUBSEP k SUBSEP c] = v
            nruns[id SUBSEP lang] = c > nruns[id SUBSEP lang] ? c : nruns[id SUBSEP lang]
        }
    }
    close(raw)
}
{
    label = $1; id = $2; key = $3; unit = $4; target = $5; chart = $6
    if (id == "fib") {
        if (!seen["fib1"] || !seen["fib2"]) next
        st = status_of("fib1", "C") status_of("fib2", "C")
        sg = status_of("fib1", "Go") status_of("fib2", "Go")
        c1 = median("fib1", "C", "value"); c2 = median("fib2", "C", "value")
        g1 = median("fib1", "Go", "value"); g2 = median("fib2", "Go", "value")
        cv = (c1 != "" && c2 > 0) ? c1 / c2 : ""
        gv = (g1 != "" && g2 > 0) ? g1 / g2 : ""
        csp = "-"; gsp = "-"
    } else {
        if (!seen[id]) next
        st = status_of(id, "C"); sg = status_of(id, "Go")
        cv = median(id, "C", key); gv = median(id, "Go", key)
        csp = spread(id, "C", key); gsp = spread(id, "Go", key)
    }
    ratio = (cv != "" && gv != "" && gv != 0) ? cv / gv : ""
    met = "-"; tshow = "-"; tline = ""
    split(target, tt, /<=|>=/)
    tv = tt[2] + 0
    if (target ~ /^ratio<=/) {
        tshow = "C/Go <= " tt[2]; tline = tv
        if (ratio != "") met = (ratio <= tv) ? "yes" : "NO"
    } else if (target ~ /^ratio>=/) {
        tshow = "C/Go >= " tt[2]; tline = tv
        if (ratio != "") met = (ratio >= tv) ? "yes" : "NO"
    } else if (target ~ /^C<=/) {
        tshow = "C <= " tt[2]
        if (gv != "" && gv > 0) tline = tv / gv
        if (cv != "") met = (cv <= tv) ? "yes" : "NO"
    } else if (target ~ /^speedup>=/) {
        tshow = "C >= " tt[2]
        if (cv != "") met = (cv >= tv) ? "yes" : "NO"
    }
    cs = st != "" ? (st ~ /not built/ ? "not built" : "FAILED") : fmt(cv)
    gs = sg != "" ? (sg ~ /not built/ ? "not built" : "FAILED") : fmt(gv)
    if (st != "" || sg != "") { ratio = ""; met = (st ~ /not built/) ? "-" : "NO" }
    rs = ratio == "" ? "-" : sprintf(ratio < 0.1 ? "%.3f" : "%.2f", ratio)
    nr++
    SP[nr] = csp " / " gsp
    L[nr] = label; U[nr] = unit; CS[nr] = cs; GS[nr] = gs; RA[nr] = rs; TS[nr] = tshow; MS[nr] = met
    if (chart == "chart" && ratio != "") {
        np++
        color = (met == "yes") ? 3385907 : (met == "NO") ? 14431557 : 10066329
        P[np] = sprintf("%d\t\"%s\"\t%.6g\t%s\t%d\t%s", np - 1, label, ratio,
                        tline == "" ? "NaN" : sprintf("%.6g", tline), color,
                        sprintf(ratio < 0.1 ? "%.3f" : "%.2f", ratio))
    }
    if (met == "NO") nmiss++
    if (met == "yes") nmet++
}
END {
    w1 = length("workload"); w2 = length("metric"); w3 = length("C median"); w4 = length("Go median")
    for (i = 1; i <= nr; i++) {
        if (length(L[i]) > w1) w1 = length(L[i]); if (length(U[i]) > w2) w2 = length(U[i])
        if (length(CS[i]) > w3) w3 = length(CS[i]); if (length(GS[i]) > w4) w4 = length(GS[i])
    }
    fm = "%-" w1 "s  %-" w2 "s  %" w3 "s  %" w4 "s  %7s  %-15s  %-4s  %s\n"
    printf fm, "workload", "metric", "C median", "Go median", "C/Go", "target", "met?", "spread C / Go"
    for (i = 1; i <= nr; i++) printf fm, L[i], U[i], CS[i], GS[i], RA[i], TS[i], MS[i], SP[i]
    printf "\n%d targets met, %d missed.\n", nmet, nmiss

    print "# libgoroutine benchmarks: C vs Go" > md
    print "" > md
    print "Medians of interleaved runs (bench/run.sh); C/Go below 1 means C is faster or smaller." > md
    print "Spread: (max - min) / median over the runs, C / Go." > md
    print hdr > md
    print "" > md
    print "| workload | metric | C median | Go median | C/Go | target | met? | spread C / Go |" > md
    print "| --- | --- | ---: | ---: | ---: | --- | --- | --- |" > md
    for (i = 1; i <= nr; i++)
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", L[i], U[i], CS[i], GS[i], RA[i], TS[i], MS[i], SP[i] > md
    printf "\n%d targets met, %d missed.\n", nmet, nmiss > md
    close(md)
    printf "" > plot
    for (i = 1; i <= np; i++) print P[i] > plot
    close(plot)
}'

echo
echo "Markdown: $out/results.md; raw results: $raw; total $elapsed_all s."

# ---- the chart ------------------------------------------------------------
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "run.sh: gnuplot not found; no chart (tools/deps.sh bench installs it)" >&2
elif [ ! -s "$plotdata" ]; then
    echo "run.sh: nothing to chart" >&2
else
    n=$(wc -l <"$plotdata")
    width=$((260 + 62 * n))
    [ $width -lt 640 ] && width=640
    cat >"$out/bench.gp" <<EOF
set terminal svg size $width,520 dynamic noenhanced font 'sans,11' background rgb 'white'
set output '$out/bench.svg'
set bmargin 8
set title "libgoroutine vs Go 1.19: C/Go ratio of the medians\nbelow 1: C faster or smaller; green: target met, red: missed, grey: no ratio target"
set datafile separator '\t'
set logscale y 2
set yrange [0.03125:8]
set ytics ('1/32' 0.03125, '1/16' 0.0625, '1/8' 0.125, '1/4' 0.25, '1/2' 0.5, '1' 1, '2' 2, '4' 4, '8' 8)
set ylabel 'C / Go (log scale)'
set xrange [-0.6:$n - 0.4]
set xtics rotate by -35 nomirror
set grid ytics lc rgb '#dddddd'
set key top left
set style fill solid 0.8 border -1
set boxwidth 0.7
set arrow from -0.6,1 to $n - 0.4,1 nohead lc rgb '#444444' dt 2
plot '$plotdata' using 1:3:5:xtic(2) with boxes lc rgb variable notitle, \
     '' using (\$1 - 0.42):4:(0.84):(0) with vectors nohead lw 3 lc rgb '#1f3a93' title 'target (C/Go at most)', \
     '' using 1:(\$3 * 1.12):6 with labels font 'sans,9' notitle
EOF
    gnuplot "$out/bench.gp"
    if [ -s "$out/bench.svg" ]; then
        if [ -n "${full_run:-}" ]; then
            cp "$out/bench.svg" "$top/docs/bench.svg"
            cp "$out/results.md" "$top/docs/bench-results.md"
            echo "Chart: $top/docs/bench.svg; table: $top/docs/bench-results.md"
        else
            echo "Chart: $out/bench.svg (a subset; docs/bench.svg is only updated by a full run)"
        fi
    else
        echo "run.sh: gnuplot produced no chart" >&2
    fi
fi
exit $status
