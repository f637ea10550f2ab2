/*
 * fib - parallel recursive fib(35): while depth < 12 a call spawns a
 * goroutine for fib(n-1), computes fib(n-2) itself, and joins with a
 * WaitGroup of its own; below depth 12 plain recursion. The whole tree runs
 * under one root goroutine (Go: the main goroutine). run.sh runs it at
 * GOMAXPROCS=1 and 2 and derives the speedup. Reports ms. seq_ms, for
 * context only, is a plain fib(n) on one goroutine afterwards: it shows how
 * much of the C/Go ratio is the compilers rather than the runtimes.
 *
 * host_x, also for context and only at GOMAXPROCS >= 2, is what this
 * machine gave two plain threads right after the run, with no runtime at
 * all: fib(HOST_N) twice on one thread, against once on each of two
 * threads started together, over three rounds. On a shared virtual
 * machine it is often well below 2 (a neighbour on the host's cores), and
 * it can change within the second, so it says how noisy the host was
 * around the run rather than being the exact ceiling of that run.
 *
 *   usage: bench_fib [N [DEPTH]]
 */
#include "bench.h"

#include <pthread.h>

#define HOST_N 30
/* Read anew for every call, so the compiler cannot fold two fib(HOST_N)
 * into one (fib is pure, and it knows). */
static volatile int host_n = HOST_N;

static int spawn_depth;

/* Aligned so that edits elsewhere in this file cannot move its loop across
 * a fetch boundary: that alone once moved the 1-P time from 27.4 to 23.0 ms
 * on the reference host. */
__attribute__((noinline, aligned(64))) static long fib(int n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

struct call {
    int n, depth;
    long result;
    go_wg *wg;
};

static void pfib(struct call *c);

static void pfib_g(void *arg)
{
    struct call *c = arg;
    pfib(c);
    go_wg_done(c->wg);
}

static void pfib(struct call *c)
{
    if (c->depth >= spawn_depth || c->n < 2) {
        c->result = fib(c->n);
        return;
    }
    go_wg wg = GO_WG_INIT;
    struct call a = {.n = c->n - 1, .depth = c->depth + 1, .wg = &wg};
    struct call b = {.n = c->n - 2, .depth = c->depth + 1};
    go_wg_add(&wg, 1);
    BENCH_GO(go(pfib_g, &a));
    pfib(&b);
    go_wg_wait(&wg);
    c->result = a.result + b.result;
}

/* ---- the host's own two-thread scaling (context) ---------------------- */

struct host_run {
    pthread_barrier_t *go;
    int64_t start, end;
    long result;
};

static void *host_thread(void *arg)
{
    struct host_run *r = arg;
    pthread_barrier_wait(r->go);
    r->start = bench_now();
    r->result = fib(host_n);
    r->end = bench_now();
    return NULL;
}

/* Time of fib(HOST_N) run once on each of two threads at once. */
static int64_t host_pair(void)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 3);
    struct host_run r[2] = {{.go = &go}, {.go = &go}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, host_thread, &r[i]) != 0)
            bench_fail("fib", "pthread_create failed");
    pthread_barrier_wait(&go);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    if (r[0].result != r[1].result)
        bench_fail("fib", "host fib(%d): %ld and %ld", HOST_N, r[0].result, r[1].result);
    int64_t lo = r[0].start < r[1].start ? r[0].start : r[1].start;
    int64_t hi = r[0].end > r[1].end ? r[0].end : r[1].end;
    return hi - lo;
}

static double host_scaling(void)
{
    int64_t one = 0, two = 0;
    for (int round = 0; round < 3; round++) {
        int64_t t0 = bench_now();
        long a = fib(host_n);
        long b = fib(host_n);
        one += bench_now() - t0;
        if (a != b)
            bench_fail("fib", "host fib(%d): %ld and %ld", HOST_N, a, b);
        two += host_pair();
    }
    return (double)one / (double)two;
}

static long expect(int n)
{
    long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        long t = a + b;
        a = b;
        b = t;
    }
    return a;
}

static int64_t elapsed, seq_elapsed;
static long seq_result;

static void root(void *arg)
{
    int64_t t0 = bench_now();
    pfib(arg);
    elapsed = bench_now() - t0;
    /* For context only (not the workload): the same fib(n) serially. */
    struct call *c = arg;
    t0 = bench_now();
    seq_result = fib(c->n);
    seq_elapsed = bench_now() - t0;
}

int main(int argc, char **argv)
{
    int n = (int)bench_arg(argc, argv, 1, 35);
    spawn_depth = (int)bench_arg(argc, argv, 2, 12);
    struct call c = {.n = n, .depth = 0};
    bench_run_root(root, &c);
    if (c.result != expect(n))
        bench_fail("fib", "fib(%d) = %ld, want %ld", n, c.result, expect(n));
    if (seq_result != c.result)
        bench_fail("fib", "serial fib(%d) = %ld, want %ld", n, seq_result, c.result);
    int procs = go_maxprocs(0);
    char host[32] = "";
    if (procs >= 2)
        snprintf(host, sizeof host, " host_x=%.3f", host_scaling());
    printf("RESULT name=fib metric=ms value=%.3f seq_ms=%.3f n=%d depth=%d gomaxprocs=%d%s\n",
           elapsed / 1e6, seq_elapsed / 1e6, n, spawn_depth, procs, host);
    return 0;
}
