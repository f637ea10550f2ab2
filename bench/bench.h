/*
 * bench.h - helpers shared by the C benchmarks (each benchmark is one .c
 * file, one process, one run of its workload).
 *
 * Every program prints exactly one line on stdout:
 *
 *   RESULT name=<workload> metric=<unit> value=<number> [key=value ...]
 *
 * and exits 0, or prints a diagnostic on stderr and exits 1 if the
 * workload computed a wrong answer. bench/run.sh parses these lines; the Go
 * twins in bench/go/ print the same format.
 */
#ifndef BENCH_H
#define BENCH_H

#include <goroutine.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* The monotonic clock in nanoseconds (what the timings use). */
static inline int64_t bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Peak resident set size of the process, KiB (getrusage ru_maxrss). */
static inline long bench_maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Current resident set size, bytes (/proc/self/statm, second field). */
static inline long long bench_rss_bytes(void)
{
    long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* Memory in the process's page tables, bytes (VmPTE of /proc/self/status):
 * what a sparse address space costs beyond its resident pages. */
static inline long long bench_pte_bytes(void)
{
    char line[256];
    long long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmPTE: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* argv[i] as a positive count, or def when absent. Exits on garbage. */
static inline long bench_arg(int argc, char **argv, int i, long def)
{
    if (argc <= i)
        return def;
    char *end;
    long v = strtol(argv[i], &end, 0);
    if (*end || v <= 0) {
        fprintf(stderr, "bad argument %s: want a positive number\n", argv[i]);
        exit(2);
    }
    return v;
}

/* A wrong answer: say so and exit 1 (run.sh reports the workload FAILED). */
static inline void bench_fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: FAILED: ", name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* go()/go_copy() must not fail in a benchmark. */
#define BENCH_GO(call)                                                        \
    do {                                                                      \
        int bench_rc_ = (call);                                               \
        if (bench_rc_ != 0) {                                                 \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,     \
                    #call, strerror(-bench_rc_));                             \
            exit(1);                                                          \
        }                                                                     \
    } while (0)

/* Run root(arg) as a goroutine and wait for it from the main thread: the C
 * counterpart of Go's main goroutine, so the workload's driver is itself a
 * goroutine (scheduled by the runtime, counted against GOMAXPROCS) as in
 * the Go twin. */
struct bench_root {
    go_func fn;
    void *arg;
    go_wg wg;
};

static void bench_root_tramp(void *p)
{
    struct bench_root *r = p;
    r->fn(r->arg);
    go_wg_done(&r->wg);
}

static inline void bench_run_root(go_func fn, void *arg)
{
    struct bench_root r = {.fn = fn, .arg = arg, .wg = GO_WG_INIT};
    go_wg_add(&r.wg, 1);
    BENCH_GO(go(bench_root_tramp, &r));
    go_wg_wait(&r.wg);
}

#endif /* BENCH_H */
